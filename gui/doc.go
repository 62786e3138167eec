// Package gui is Keydesk's desktop window (Fyne): the keys table and a key's
// details (details.go: a side panel opened by clicking a row), the create,
// secret, rename and delete dialogs, and the Try a key, Activity and Settings
// views, wired to an opened workspace by Run, the package's only export.
//
// Each screen is a custom widget that depends on a small interface declared
// here (keysService, tryKeyService, auditSource), so tests drive it with
// fakes or an in-memory service. The Settings screen is its own package,
// gui/settings, which declares what it needs of the window (settings.UI,
// implemented in settings_ui.go) and of the data folder (settings.Source).
// Work that touches disk, the keyring or the network runs off the UI
// goroutine; widgets change only on the UI goroutine. The runner
// (runner.go) is the one bridge between the two and the only caller of
// fyne.Do; tests inject their own. Generic widgets and the app theme live
// in gui/widgets.
//
// On a shared store (keydesk --store URL, or File → Open Shared Store…)
// the window follows other admins' changes (shared.go): a replica of the
// store, woken by the store's change notifications, checks what changed
// against the store's signed state, and the keys it announces are applied
// to the window's service before the keys table reloads. The title names
// the store and says when PostgreSQL cannot be reached.
package gui
