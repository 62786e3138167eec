// Package gui is Keydesk's desktop window (Fyne): the keys table, the create,
// secret, rename and delete dialogs, and the Try a key, Activity and Settings
// views, wired to an opened workspace by Run.
//
// Each screen is a custom widget that depends on a small interface declared
// here (KeysService, ...), so tests drive it with fakes or an in-memory
// service. Work that touches disk or the keyring runs off the UI goroutine;
// widgets change only on the UI goroutine, via fyne.Do.
package gui
