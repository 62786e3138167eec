package assets

import "embed"

// MailTemplates holds the e-mail templates under mail/: digest.txt and
// test.txt (text/template) and digest.html and test.html (html/template).
//
//go:embed mail/*.txt mail/*.html
var MailTemplates embed.FS
