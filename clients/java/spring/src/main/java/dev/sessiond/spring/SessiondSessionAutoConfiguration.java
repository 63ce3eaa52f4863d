package dev.sessiond.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.ClientOptions;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.servlet.SessionCookie;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.session.SessionAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.session.SessionRepository;
import org.springframework.session.config.annotation.web.http.EnableSpringHttpSession;
import org.springframework.session.web.http.CookieSerializer;
import org.springframework.session.web.http.SessionRepositoryFilter;
import org.springframework.util.ClassUtils;

/**
 * Spring Boot auto-configuration: with {@code sessiond.address} set, a servlet app's HttpSession is
 * kept in sessiond through Spring Session ({@link SessiondSessionRepository}) under the cookie of
 * docs/COOKIES.md ({@link SessiondCookieSerializer}). Each bean can be replaced by one of the
 * app's.
 */
@AutoConfiguration(before = SessionAutoConfiguration.class)
@ConditionalOnClass(SessionRepository.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnProperty(prefix = "sessiond", name = "address")
@EnableConfigurationProperties(SessiondProperties.class)
@EnableSpringHttpSession
public class SessiondSessionAutoConfiguration {
  /** The client, closed with the context. */
  @Bean
  @ConditionalOnMissingBean
  public Client sessiondClient(SessiondProperties properties) {
    return Client.connect(
        properties.address(),
        ClientOptions.defaults()
            .withTimeout(properties.timeout())
            .withBatching(properties.batching())
            .withNearCache(properties.nearCache().toBytes()));
  }

  /**
   * The repository, with the app's ObjectMapper for JSON attributes when it has one, and Spring
   * Security's context stored as typed JSON when Security is present.
   */
  @Bean
  @ConditionalOnMissingBean
  public SessiondSessionRepository sessionRepository(
      Client client, SessiondProperties properties, ObjectProvider<ObjectMapper> objectMapper) {
    ObjectMapper mapper = objectMapper.getIfAvailable(ObjectMapper::new);
    AttributeCodec codec = new AttributeCodec(mapper);
    ClassLoader loader = getClass().getClassLoader();
    if (ClassUtils.isPresent(
        "org.springframework.security.jackson2.SecurityJackson2Modules", loader)) {
      codec = SecurityContextJson.register(codec, mapper, loader);
    }
    Map<String, Class<?>> jsonTypes = properties.jsonTypes();
    if (jsonTypes != null) {
      for (Map.Entry<String, Class<?>> type : jsonTypes.entrySet()) {
        codec = codec.withJsonType(type.getKey(), type.getValue());
      }
    }
    CreateOptions createOptions =
        CreateOptions.defaults()
            .withTimeouts(properties.idleTimeout(), properties.absoluteTimeout());
    return new SessiondSessionRepository(client, codec, createOptions);
  }

  /** 409 for a request whose session save conflicts, just outside Spring Session's filter. */
  @Bean
  public FilterRegistrationBean<SessiondConflictFilter> sessiondConflictFilter() {
    FilterRegistrationBean<SessiondConflictFilter> registration =
        new FilterRegistrationBean<>(new SessiondConflictFilter());
    registration.setOrder(SessionRepositoryFilter.DEFAULT_ORDER - 1);
    return registration;
  }

  /** The cookie of docs/COOKIES.md, unless the app defines its own serializer. */
  @Bean
  @ConditionalOnMissingBean(CookieSerializer.class)
  public SessiondCookieSerializer sessiondCookieSerializer(SessiondProperties properties) {
    SessiondProperties.Cookie cookie = properties.cookie();
    return new SessiondCookieSerializer(
        SessionCookie.defaults()
            .withName(cookie.name())
            .withSecrets(cookie.secrets() == null ? List.of() : cookie.secrets())
            .withSecure(cookie.secure())
            .withSameSite(cookie.sameSite())
            .withPath(cookie.path())
            .withDomain(cookie.domain())
            .withMaxAge(cookie.maxAge()));
  }
}
