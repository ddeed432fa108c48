/// Sends one HTTP request, once. ``CurlHTTPTransport`` is the real one; ``HTTPClient`` adds
/// retries, logging and JSON on top of any transport.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse
}
