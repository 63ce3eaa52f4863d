package dev.sessiond.spring;

import org.springframework.boot.test.context.SpringBootTest;

/** The whole Spring suite again with the near cache turned off by its one property. */
@SpringBootTest(
    classes = TestApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"sessiond.cookie.secrets=new secret,shared secret", "sessiond.near-cache=0"})
class SessiondSpringSessionWithoutNearCacheTest extends SessiondSpringSessionTest {
  @Override
  protected long expectedNearCacheBytes() {
    return 0;
  }
}
