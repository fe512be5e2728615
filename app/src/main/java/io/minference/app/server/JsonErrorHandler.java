package io.minference.app.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty writes itself, before any endpoint sees the request (a malformed request line or Content-Length,
 * headers over the limit (431), a body that arrives too slowly), in the same OpenAI error shape as the endpoints'
 * own, instead of Jetty's HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) throws IOException {
        String reason = HttpStatus.getMessage(code);
        String text = message == null || message.isBlank() || message.equals(reason)
                ? reason : reason + ": " + message;
        String type = code >= 500 ? "server_error" : "invalid_request_error";
        byte[] body = HttpCall.JSON.writeValueAsBytes(HttpCall.errorBody(new ApiException(code, type, null, text)));
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.write(true, ByteBuffer.wrap(body), callback);
    }
}
