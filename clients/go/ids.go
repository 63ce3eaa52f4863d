package sessiond

import (
	"crypto/rand"
	"encoding/base64"
)

// NewID returns a fresh session id for CreateOptions.ID: 24 bytes from the OS's CSPRNG in base64url,
// 32 characters.
func NewID() string { return randomBase64(24) }

// ValidID reports whether id has the form of a session id: 32 characters of base64url. It says
// nothing about whether the session exists.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range []byte(id) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// newRequestID returns a fresh idempotency key: 128 random bits in base64url.
func newRequestID() string { return randomBase64(16) }

func randomBase64(n int) string {
	bytes := make([]byte, n)
	_, _ = rand.Read(bytes) // crypto/rand.Read never fails (it panics if the OS cannot supply).
	return base64.RawURLEncoding.EncodeToString(bytes)
}
