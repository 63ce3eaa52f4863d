package sessionhttp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	sessiond "sessiond.dev/client/go"
)

// signatureLength is the length of base64url(HMAC-SHA256) without padding.
const signatureLength = 43

// cookieCodec reads and writes the session cookie as docs/COOKIES.md specifies.
type cookieCodec struct {
	name     string
	secrets  [][]byte // Newest first; empty: unsigned.
	path     string
	domain   string
	maxAge   int // Seconds; 0: a session cookie.
	secure   bool
	sameSite string
}

func sign(secret []byte, id string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// value is the cookie value for id: the id, or id.signature with the newest secret.
func (c *cookieCodec) value(id string) string {
	if len(c.secrets) == 0 {
		return id
	}
	return id + "." + sign(c.secrets[0], id)
}

// id returns the session id of the request's first well-formed session cookie (verified with any
// secret, in constant time), or "" if none; and whether the request carried a cookie of this name
// at all.
func (c *cookieCodec) id(r *http.Request) (id string, present bool) {
	for _, cookie := range r.CookiesNamed(c.name) {
		present = true
		if id := c.parse(cookie.Value); id != "" {
			return id, true
		}
	}
	return "", present
}

func (c *cookieCodec) parse(value string) string {
	if len(c.secrets) == 0 {
		if sessiond.ValidID(value) {
			return value
		}
		return ""
	}
	id, signature, found := strings.Cut(value, ".")
	if !found || !sessiond.ValidID(id) || len(signature) != signatureLength {
		return ""
	}
	for _, secret := range c.secrets {
		if hmac.Equal([]byte(sign(secret, id)), []byte(signature)) {
			return id
		}
	}
	return ""
}

// set returns the Set-Cookie header that stores id.
func (c *cookieCodec) set(id string) string {
	maxAge := ""
	if c.maxAge > 0 {
		maxAge = fmt.Sprintf("Max-Age=%d; ", c.maxAge)
	}
	return c.header(c.value(id), maxAge)
}

// clear returns the Set-Cookie header that deletes the cookie.
func (c *cookieCodec) clear() string {
	return c.header("", "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ")
}

// header formats name=value; Path; [Domain;] [expiry;] HttpOnly; [Secure;] SameSite in the
// spec's order.
func (c *cookieCodec) header(value, expiry string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s=%s; Path=%s; ", c.name, value, c.path)
	if c.domain != "" {
		fmt.Fprintf(&b, "Domain=%s; ", c.domain)
	}
	b.WriteString(expiry)
	b.WriteString("HttpOnly; ")
	if c.secure {
		b.WriteString("Secure; ")
	}
	b.WriteString("SameSite=" + c.sameSite)
	return b.String()
}
