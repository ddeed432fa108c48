public import ClusterKit
import Foundation
public import Logging

/// The HTTP client every provider uses: one request log, one retry loop, JSON in and out.
///
/// This is the only place that retries HTTP requests. Transient failures (5xx, timeouts,
/// connection resets) back off with jitter per ``HTTPRetryPolicy``; 429 waits as long as the
/// server says (`Retry-After`, or the `RateLimit-*` headers Hetzner documents under "Rate
/// Limiting") and never counts as a failed attempt. All waiting goes through the injected
/// ``TimeSource``. Non-idempotent requests are retried too: callers that create things must
/// recognise their own earlier success (Hetzner answers `uniqueness_error`).
public struct HTTPClient: Sendable {
    public var transport: any HTTPTransport
    public var retry: HTTPRetryPolicy
    public var time: any TimeSource
    public var logger: Logger
    public var redaction: HTTPRedaction
    /// Seconds since 1970, for `RateLimit-Reset` timestamps.
    public var wallClock: @Sendable () -> Double
    /// Turns a non-2xx response into an error; providers parse their own error bodies here.
    public var errorDecoder: @Sendable (HTTPRequest, HTTPResponse) -> HTTPError

    public init(
        transport: any HTTPTransport, retry: HTTPRetryPolicy = HTTPRetryPolicy(), time: any TimeSource = SystemTimeSource(),
        logger: Logger = Logger(label: "clusterctl.http"), redaction: HTTPRedaction = HTTPRedaction(),
        wallClock: @escaping @Sendable () -> Double = HTTPClient.systemWallClock,
        errorDecoder: @escaping @Sendable (HTTPRequest, HTTPResponse) -> HTTPError = HTTPClient.genericError
    ) {
        self.transport = transport
        self.retry = retry
        self.time = time
        self.logger = logger
        self.redaction = redaction
        self.wallClock = wallClock
        self.errorDecoder = errorDecoder
    }

    /// Seconds since 1970 from the system clock.
    @Sendable public static func systemWallClock() -> Double { Date().timeIntervalSince1970 }

    /// A plain error naming the request and status, for APIs without a known error body.
    @Sendable public static func genericError(_ request: HTTPRequest, _ response: HTTPResponse) -> HTTPError {
        HTTPError(
            code: .status, message: "\(request.method.rawValue) \(HTTPRedaction().url(request.url)) answered HTTP \(response.status)",
            status: response.status, response: response)
    }

    /// Sends the request, retrying per the policy; returns only 2xx responses.
    /// - Throws: ``HTTPError`` (the last failure), or `CancellationError`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var random = SystemRandomNumberGenerator()
        var failedAttempts = 0
        var rateLimitWaited = Duration.zero
        while true {
            try Task.checkCancellation()
            let started = time.now
            logger.debug(
                "http request",
                metadata: [
                    "method": "\(request.method.rawValue)", "url": "\(redaction.url(request.url))",
                    "headers": "\(request.headers.map { "\($0.name): \(redaction.header(name: $0.name, value: $0.value))" })",
                    "body": "\(redaction.body(request.body))",
                ])
            var failure: HTTPError
            do {
                let response = try await transport.send(request)
                logger.debug(
                    "http response",
                    metadata: [
                        "method": "\(request.method.rawValue)", "url": "\(redaction.url(request.url))", "status": "\(response.status)",
                        "elapsed": "\(time.now - started)", "body": "\(redaction.body(response.body))",
                    ])
                if response.isSuccess { return response }
                failure = errorDecoder(request, response)
                failure.status = response.status
                failure.response = response
                if failure.retryAfter == nil { failure.retryAfter = retryAfter(from: response) }
            } catch {
                logger.debug("http failure", metadata: ["url": "\(redaction.url(request.url))", "error": "\(error.message)"])
                failure = error
            }
            try Task.checkCancellation()
            guard failure.isTransient else { throw failure }

            if failure.status == 429 {
                let wait = failure.retryAfter ?? retry.backoff(afterAttempt: 1, random: &random)
                guard rateLimitWaited + wait <= retry.maxRateLimitWait else {
                    failure.hint = "rate limited for more than \(retry.maxRateLimitWait); wait and run again"
                    throw failure
                }
                rateLimitWaited += wait
                logger.notice("rate limited, waiting", metadata: ["url": "\(redaction.url(request.url))", "wait": "\(wait)"])
                try await time.sleep(for: wait)
                continue
            }
            failedAttempts += 1
            guard failedAttempts < retry.maxAttempts else {
                failure.hint = failure.hint ?? "gave up after \(failedAttempts) attempts; the service may be down, try again later"
                throw failure
            }
            let wait = max(failure.retryAfter ?? .zero, retry.backoff(afterAttempt: failedAttempts, random: &random))
            logger.info(
                "transient http failure, retrying",
                metadata: ["url": "\(redaction.url(request.url))", "error": "\(failure.message)", "wait": "\(wait)", "attempt": "\(failedAttempts)"])
            try await time.sleep(for: wait)
        }
    }

    /// How long the server asked us to wait: `Retry-After` seconds; else, on an exhausted rate
    /// limit, the time for one request to be refilled (Hetzner: the remaining count grows by
    /// `limit / 3600` per second), capped by `RateLimit-Reset`. `RateLimit-Reset` is read as a
    /// UNIX timestamp when it is one (Hetzner) and as delta seconds otherwise (IETF draft).
    public func retryAfter(from response: HTTPResponse) -> Duration? {
        if let value = response.header("retry-after"), let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return .milliseconds(Int64(seconds * 1000))
        }
        guard response.status == 429 else { return nil }
        var wait: Double?
        if let remaining = response.header("ratelimit-remaining").flatMap({ Int($0) }), remaining <= 0,
            let limit = response.header("ratelimit-limit").flatMap({ Double($0) }), limit > 0
        {
            wait = 3600 / limit
        }
        if let reset = response.header("ratelimit-reset").flatMap({ Double($0) }) {
            let untilReset = reset > 1_000_000_000 ? reset - wallClock() : reset
            if untilReset > 0 { wait = min(wait ?? untilReset, untilReset) }
        }
        guard let wait, wait > 0 else { return nil }
        return .milliseconds(Int64((wait * 1000).rounded(.up)))
    }
}

extension HTTPClient {
    /// Encodes `body` as JSON (snake_case keys are the caller's `CodingKeys` business).
    public static func jsonBody(_ body: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(body))
        } catch {
            throw HTTPError(code: .invalidRequest, message: "could not encode request body: \(error)")
        }
    }

    /// Decodes a JSON response body, naming the request when it does not fit.
    public static func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse, request: HTTPRequest) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw HTTPError(
                code: .decoding,
                message: "\(request.method.rawValue) \(HTTPRedaction().url(request.url)): unexpected response body for \(T.self): \(error)",
                status: response.status, response: response)
        }
    }
}
