public import ClusterKit
public import Logging

/// A log handler that passes every message and metadata value through
/// ``SecretScrubber/shared`` before the wrapped handler writes it: request logs carry servers'
/// error texts, and a server may echo the token it was sent.
public struct ScrubbingLogHandler: LogHandler {
    private var inner: any LogHandler
    private let scrubber: SecretScrubber

    public init(wrapping inner: any LogHandler, scrubber: SecretScrubber = .shared) {
        self.inner = inner
        self.scrubber = scrubber
    }

    /// Makes every logger of the process write scrubbed lines to stderr. Call once, first thing.
    public static func bootstrap() {
        LoggingSystem.bootstrap { label in ScrubbingLogHandler(wrapping: StreamLogHandler.standardError(label: label)) }
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(scrubber.scrub(event.message.description))"
        event.metadata = event.metadata?.mapValues { .string(scrubber.scrub($0.description)) }
        inner.log(event: event)
    }
}
