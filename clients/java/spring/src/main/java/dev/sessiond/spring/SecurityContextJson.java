package dev.sessiond.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.client.AttributeCodec;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.security.jackson2.SecurityJackson2Modules;

/**
 * Stores Spring Security's SecurityContext (the session attribute {@code SPRING_SECURITY_CONTEXT})
 * as JSON that reads back as a {@link SecurityContextImpl}: written and read by a copy of the app's
 * ObjectMapper carrying Spring Security's Jackson modules (which add {@code @class} type ids for an
 * allowlist of Security's types). Other attributes keep the app's mapper. Loaded only when Spring
 * Security is on the classpath.
 */
final class SecurityContextJson {
  /** The attribute Spring Security's HttpSessionSecurityContextRepository keeps the context in. */
  static final String ATTRIBUTE = "SPRING_SECURITY_CONTEXT";

  private SecurityContextJson() {}

  /** {@code codec}, reading and writing the SecurityContext attribute as described above. */
  static AttributeCodec register(AttributeCodec codec, ObjectMapper appMapper, ClassLoader loader) {
    ObjectMapper security = appMapper.copy();
    security.registerModules(SecurityJackson2Modules.getModules(loader));
    return codec.withJsonType(ATTRIBUTE, SecurityContextImpl.class, security);
  }
}
