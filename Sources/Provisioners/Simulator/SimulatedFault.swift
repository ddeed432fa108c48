public import ClusterKit

/// A fault the simulator injects into one kind of operation.
///
/// Written on the command line (`--inject`) or in tests as `KIND:OPERATION[:TARGET][*COUNT]`:
/// `ratelimit:create:hcloud*3` answers the next three creates on provider `hcloud` with a rate
/// limit; `crash:create:home-cp-2` kills the process right after the provider accepted
/// `home-cp-2`; `permanent:create:home-workers-3` fails that create for good.
public struct SimulatedFault: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// HTTP 429 with a Retry-After.
        case rateLimit = "ratelimit"
        /// HTTP 503.
        case serverError = "5xx"
        /// No answer for 30 s, then a timeout.
        case timeout
        /// The operation succeeds, 5 minutes late.
        case slow
        /// A permanent refusal (quota exceeded).
        case permanent
        /// The operation takes effect, then the process dies before it learns so.
        case crash
        /// The machine dies (powered off, unreachable) right after the operation.
        case machineFailure = "machine-failure"
    }

    public enum Operation: String, Sendable, Hashable, Codable, CaseIterable {
        case image, resources, list, create, wait, delete, apply, status, bootstrap, etcd, kubernetes, gitops
    }

    public var kind: Kind
    public var operation: Operation
    /// A provider name or node name; nil matches any.
    public var target: String?
    /// How many matching operations it hits.
    public var count: Int

    public init(kind: Kind, operation: Operation, target: String? = nil, count: Int = 1) {
        self.kind = kind
        self.operation = operation
        self.target = target
        self.count = count
    }

    public init(parsing text: String) throws(ClusterError) {
        var body = Substring(text)
        var count = 1
        if let star = body.lastIndex(of: "*") {
            guard let parsed = Int(body[body.index(after: star)...]), parsed > 0 else {
                throw ClusterError(.invalidSpec, "fault \"\(text)\": the count after * must be a positive number")
            }
            count = parsed
            body = body[..<star]
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let usage = "write faults as KIND:OPERATION[:TARGET][*COUNT], e.g. ratelimit:create:hcloud*3"
        guard parts.count == 2 || parts.count == 3 else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\" is not KIND:OPERATION[:TARGET][*COUNT]", hint: usage)
        }
        guard let kind = Kind(rawValue: parts[0]) else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\": unknown kind \"\(parts[0])\"", hint: "kinds: " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let operation = Operation(rawValue: parts[1]) else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\": unknown operation \"\(parts[1])\"", hint: "operations: " + Operation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.init(kind: kind, operation: operation, target: parts.count == 3 ? parts[2] : nil, count: count)
    }

    public var description: String {
        "\(kind.rawValue):\(operation.rawValue)\(target.map { ":\($0)" } ?? "")\(count == 1 ? "" : "*\(count)")"
    }
}

/// The error the process "dies" with when a crash fault fires. Nothing after it is recorded;
/// tests reload the state saved at that instant, as a restarted process would.
public struct SimulatedCrash: Error, Sendable, CustomStringConvertible {
    public var fault: SimulatedFault

    public init(fault: SimulatedFault) { self.fault = fault }

    public var description: String { "simulated crash (\(fault))" }
}
