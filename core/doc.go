// Package core is Keydesk's domain: the Company API Key format, the permission
// catalog and its allow rule, the expiration policy, the key service (create,
// list, rename, delete, verify) and the selection of keys for the daily
// expiration digest.
//
// core imports neither Fyne nor bbolt. It reaches storage, the keyring-derived
// signing material and the clock only through the small interfaces declared
// in this package (Store, Signer, Clock), so every front end (window, command
// line, HTTP API) shares exactly the same rules.
package core
