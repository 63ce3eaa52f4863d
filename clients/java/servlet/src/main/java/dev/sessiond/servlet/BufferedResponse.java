package dev.sessiond.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;

/**
 * The response {@link SessiondFilter} passes on: it keeps the body in memory so that nothing is
 * sent before the session is committed, and runs {@code beforeCommit} (the commit) before a
 * redirect or an error is sent and in {@link #finish()}. Streaming responses are held until the
 * handler returns.
 */
final class BufferedResponse extends HttpServletResponseWrapper {
  private final ByteArrayOutputStream body = new ByteArrayOutputStream();
  private final Runnable beforeCommit;
  private boolean committedSession;
  private ServletOutputStream stream;
  private PrintWriter writer;

  BufferedResponse(HttpServletResponse response, Runnable beforeCommit) {
    super(response);
    this.beforeCommit = beforeCommit;
  }

  @Override
  public ServletOutputStream getOutputStream() {
    if (writer != null) {
      throw new IllegalStateException("getWriter() was called already");
    }
    if (stream == null) {
      stream =
          new ServletOutputStream() {
            @Override
            public void write(int b) {
              body.write(b);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) {
              body.write(bytes, offset, length);
            }

            @Override
            public boolean isReady() {
              return true;
            }

            @Override
            public void setWriteListener(WriteListener listener) {
              throw new UnsupportedOperationException("the sessiond filter buffers responses");
            }
          };
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() {
    if (stream != null) {
      throw new IllegalStateException("getOutputStream() was called already");
    }
    if (writer == null) {
      writer =
          new PrintWriter(new OutputStreamWriter(body, Charset.forName(getCharacterEncoding())));
    }
    return writer;
  }

  /** Keeps the body: nothing is sent before the session is committed. */
  @Override
  public void flushBuffer() {
    if (writer != null) {
      writer.flush();
    }
  }

  @Override
  public void resetBuffer() {
    super.resetBuffer();
    body.reset();
  }

  @Override
  public void reset() {
    super.reset();
    body.reset();
  }

  @Override
  public void sendRedirect(String location) throws IOException {
    commitSession();
    super.sendRedirect(location);
  }

  @Override
  public void sendError(int status, String message) throws IOException {
    commitSession();
    super.sendError(status, message);
  }

  @Override
  public void sendError(int status) throws IOException {
    commitSession();
    super.sendError(status);
  }

  /** Commits the session if that has not happened, then sends the body kept so far. */
  void finish() throws IOException {
    commitSession();
    if (writer != null) {
      writer.flush();
    }
    if (body.size() > 0 && !getResponse().isCommitted()) {
      body.writeTo(getResponse().getOutputStream());
    }
  }

  private void commitSession() {
    if (!committedSession) {
      committedSession = true;
      beforeCommit.run();
    }
  }
}
