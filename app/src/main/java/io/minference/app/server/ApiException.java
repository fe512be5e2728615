package io.minference.app.server;

/**
 * A request the server refuses, answered with {@code status} and OpenAI's error object: {@code {"error":
 * {"message", "type", "param", "code"}}}.
 *
 * @see ApiErrors
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;

    public ApiException(int status, String type, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
    }

    /** A 400 invalid_request_error about {@code param} (null when no one field is at fault). */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }
}
