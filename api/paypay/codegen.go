package paypay

import (
	"crypto/rand"
)

// Redeem codes look like "PP-7KQM-X3TD-9HWA": CodePrefix and three groups
// of four characters of CodeAlphabet, CodeRandomChars random characters in
// all.
//
// CodeAlphabet leaves out the characters people confuse when they read a
// code aloud or type it from a card: 0 and O, 1, I and L. That leaves 31
// characters, so a code carries 12·log2(31) ≈ 59.4 bits of randomness:
// guessing one valid code among a million issued takes about 8·10^11
// tries on average, far beyond the 60 requests a minute a key may make.
const (
	CodeAlphabet    = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	CodePrefix      = "PP-"
	CodeRandomChars = 12
	codeGroupChars  = 4
	codeLen         = len(CodePrefix) + CodeRandomChars + CodeRandomChars/codeGroupChars - 1
)

// NewCode returns a fresh redeem code from crypto/rand. Codes are not
// checked for uniqueness here: the caller that stores them refuses (and
// redraws) a code that already exists, however unlikely.
func NewCode() string {
	var out [codeLen]byte
	copy(out[:], CodePrefix)
	var chars [CodeRandomChars]byte
	randomChars(chars[:], CodeAlphabet)
	pos := len(CodePrefix)
	for i, c := range chars {
		if i > 0 && i%codeGroupChars == 0 {
			out[pos] = '-'
			pos++
		}
		out[pos] = c
		pos++
	}
	return string(out[:])
}

// ValidCodeFormat reports whether s has exactly a code's form: upper-case
// prefix, groups and alphabet as NewCode makes them. (Input from users is
// normalized by DecodeCode first.)
func ValidCodeFormat(s string) bool {
	if len(s) != codeLen || s[:len(CodePrefix)] != CodePrefix {
		return false
	}
	for i := len(CodePrefix); i < len(s); i++ {
		if (i-len(CodePrefix))%(codeGroupChars+1) == codeGroupChars {
			if s[i] != '-' {
				return false
			}
			continue
		}
		if !inCodeAlphabet(s[i]) {
			return false
		}
	}
	return true
}

func inCodeAlphabet(c byte) bool {
	for i := 0; i < len(CodeAlphabet); i++ {
		if CodeAlphabet[i] == c {
			return true
		}
	}
	return false
}

// NewRedemptionID returns a random (version 4) UUID from crypto/rand in
// its canonical lower-case form, e.g. "b0f2c5e8-3c1d-4f6a-9e2b-7d4c1a0f5e93".
func NewRedemptionID() string {
	var u [16]byte
	readRandom(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10 (RFC 9562)
	var out [36]byte
	pos := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[pos] = '-'
			pos++
		}
		out[pos], out[pos+1] = hexLower[b>>4], hexLower[b&0x0f]
		pos += 2
	}
	return string(out[:])
}

const hexLower = "0123456789abcdef"

// randomChars fills dst with characters of alphabet (at most 256 of them)
// drawn uniformly from crypto/rand: bytes at or above the largest multiple
// of len(alphabet) are thrown away, so there is no modulo bias.
func randomChars(dst []byte, alphabet string) {
	limit := 256 - 256%len(alphabet)
	var buf [32]byte
	n := 0
	for n < len(dst) {
		readRandom(buf[:])
		for _, b := range buf {
			if int(b) < limit && n < len(dst) {
				dst[n] = alphabet[int(b)%len(alphabet)]
				n++
			}
		}
	}
}

// readRandom fills b from crypto/rand. crypto/rand does not fail on the
// systems ledgerd runs on; if it ever does, no identifier may be issued.
func readRandom(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("paypay: crypto/rand failed: " + err.Error())
	}
}
