package envelope

import (
	"errors"
	"fmt"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
)

// A passphrase chosen for something new (CheckNewPassphrase) must also be
// hard to guess: at least MinStrength on zxcvbn's scale (a port of
// Dropbox's estimator, which knows common passwords, words, names, dates,
// repeats, sequences and keyboard patterns). Score 3 means about 10^8
// guesses or more: with scrypt at 2^18 (about a second a guess on one
// core) that is years of a core's time.
const MinStrength = 3

// strengthRunes is how much of a passphrase the estimate reads: its cost
// grows fast with the length (about 0.2 s at 100 characters), and a
// passphrase whose first 64 characters are hard to guess is.
const strengthRunes = 64

// Errors of CheckNewPassphrase for a passphrase that is easy to guess,
// each saying why; every one of them is also ErrWeakPassphrase.
var (
	ErrWeakPassphrase     = errors.New("passphrase too easy to guess")
	ErrPassphraseRepeats  = fmt.Errorf("%w: it repeats characters", ErrWeakPassphrase)
	ErrPassphraseSequence = fmt.Errorf("%w: it runs through letters or digits in order", ErrWeakPassphrase)
	ErrPassphraseKeyboard = fmt.Errorf("%w: it follows neighbouring keys", ErrWeakPassphrase)
	ErrPassphraseCommon   = fmt.Errorf("%w: it is made of common passwords or words", ErrWeakPassphrase)
	ErrPassphraseDate     = fmt.Errorf("%w: it is mostly dates or years", ErrWeakPassphrase)
)

// CheckNewPassphrase checks a passphrase being chosen to protect something
// new (a backup, a key file, an admin credential): ErrShortPassphrase
// below MinPassphrase characters, else one of the ErrWeakPassphrase errors
// when it is easy to guess. It is never applied to a passphrase typed to
// open something that exists, which was accepted when it was chosen.
func CheckNewPassphrase(p string) error {
	if err := CheckPassphrase(p); err != nil {
		return err
	}
	r := []rune(p)
	if len(r) > strengthRunes {
		r = r[:strengthRunes]
	}
	res := zxcvbn.PasswordStrength(string(r), []string{"keydesk"})
	if res.Score >= MinStrength {
		return nil
	}
	// The pattern covering the most characters says why.
	var worst *match.Match
	for _, m := range res.Sequence {
		if m.Pattern != "bruteforce" && (worst == nil || len([]rune(m.Token)) > len([]rune(worst.Token))) {
			worst = m
		}
	}
	if worst == nil {
		return ErrWeakPassphrase
	}
	switch worst.Pattern {
	case "repeat":
		return ErrPassphraseRepeats
	case "sequence":
		return ErrPassphraseSequence
	case "spatial":
		return ErrPassphraseKeyboard
	case "dictionary":
		return ErrPassphraseCommon
	case "date", "regex":
		return ErrPassphraseDate
	}
	return ErrWeakPassphrase
}
