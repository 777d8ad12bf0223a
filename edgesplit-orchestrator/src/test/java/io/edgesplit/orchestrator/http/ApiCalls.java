package io.edgesplit.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Plain HTTP calls to the API on loopback, and the check of an OpenAI-shaped error, for the API's tests. */
final class ApiCalls {
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    HttpClient http() {
        return http;
    }

    HttpResponse<String> post(int port, String path, String body) throws Exception {
        return post(port, path, body, new String[0]);
    }

    /** A POST with more headers, as name, value, name, value... */
    HttpResponse<String> post(int port, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The response is an error in OpenAI's shape: this status, a message holding {@code messagePart}, a type, a code and (if given) the parameter. */
    void assertError(HttpResponse<String> r, int status, String param, String messagePart) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = json.readTree(r.body()).path("error");
        assertThat(e.path("message").asText()).contains(messagePart);
        assertThat(e.path("type").asText()).isNotEmpty();
        assertThat(e.path("code").asText()).isNotEmpty();
        if (param != null) {
            assertThat(e.path("param").asText()).isEqualTo(param);
        }
    }
}
