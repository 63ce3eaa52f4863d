package dev.sessiond.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SessionCookieTest {
  private static final String ID = "abcdefghijklmnopqrstuvwxyz012345";
  // base64url(HMAC-SHA256("correct horse", ID)) computed independently of this code.
  private static final String SIGNED = ID + ".2OwX3PlsY4MKaRNPFTOZRHA15lUj9iu4LIpJgqAuJJk";
  private static final SessionCookie SIGNING =
      SessionCookie.defaults().withSecrets(List.of("correct horse"));

  @Test
  void unsignedValueIsTheId() {
    assertEquals(ID, SessionCookie.defaults().encode(ID));
    assertEquals(Optional.of(ID), SessionCookie.defaults().decode(ID));
  }

  @Test
  void signedValueIsTheIdDotTheBase64UrlHmac() {
    assertEquals(SIGNED, SIGNING.encode(ID));
    assertEquals(76, SIGNING.encode(ID).length());
    assertEquals(Optional.of(ID), SIGNING.decode(SIGNED));
  }

  @Test
  void anyConfiguredSecretVerifiesAndTheFirstSigns() {
    SessionCookie rotated = SessionCookie.defaults().withSecrets(List.of("new", "correct horse"));
    assertEquals(Optional.of(ID), rotated.decode(SIGNED));
    assertEquals(
        ID + ".I9fs6YeufIbUCaW_OkwuIPYn7VbMiRsc_uv0ABgrnCM",
        SessionCookie.defaults().withSecrets(List.of("sécret")).encode(ID));
  }

  @Test
  void malformedValuesReadAsNoCookie() {
    for (String bad :
        List.of(
            "",
            ID.substring(1),
            ID + "=",
            "abcdefghijklmnopqrstuvwxyz01234+",
            ID + ".",
            SIGNED.substring(0, 75),
            SIGNED.substring(0, 75) + "A",
            SIGNED + "A")) {
      assertEquals(Optional.empty(), SessionCookie.defaults().decode(bad), bad);
      assertEquals(Optional.empty(), SIGNING.decode(bad), bad);
    }
    assertEquals(Optional.empty(), SIGNING.decode(ID), "an unsigned id when signing");
    assertEquals(Optional.empty(), SessionCookie.defaults().decode(SIGNED));
    assertEquals(
        Optional.empty(),
        SessionCookie.defaults().withSecrets(List.of("other")).decode(SIGNED),
        "signed with another secret");
  }

  @Test
  void setCookieHasTheSpecAttributesInOrder() {
    assertEquals(
        "sessiond=" + ID + "; Path=/; HttpOnly; Secure; SameSite=Lax",
        SessionCookie.defaults().setHeader(ID));
    assertEquals(
        "sid="
            + SIGNED
            + "; Path=/app; Domain=example.test; Max-Age=3600; HttpOnly; SameSite=Strict",
        SIGNING
            .withName("sid")
            .withPath("/app")
            .withDomain("example.test")
            .withMaxAge(Duration.ofHours(1))
            .withSecure(false)
            .withSameSite("Strict")
            .setHeader(ID));
  }

  @Test
  void clearingUsesTheSameNamePathAndDomain() {
    assertEquals(
        "sessiond=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure;"
            + " SameSite=Lax",
        SessionCookie.defaults().clearHeader());
    assertEquals(
        "sessiond=; Path=/a; Domain=d.test; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT;"
            + " HttpOnly; Secure; SameSite=None",
        SessionCookie.defaults()
            .withPath("/a")
            .withDomain("d.test")
            .withMaxAge(Duration.ofHours(1))
            .withSameSite("None")
            .clearHeader());
  }

  @Test
  void sameSiteNoneNeedsSecure() {
    assertThrows(
        IllegalArgumentException.class,
        () -> SessionCookie.defaults().withSecure(false).withSameSite("None"));
  }
}
