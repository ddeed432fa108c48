public import ClusterKit

/// A fault the simulator injects into one kind of operation.
///
/// Written on the command line (`--inject`) or in tests as `KIND:OPERATION[:TARGET][*COUNT][@SKIP]`:
/// `ratelimit:create:hcloud*3` answers the next three creates on provider `hcloud` with a rate
/// limit; `crash:create:home-cp-2` kills the process right after the provider accepted
/// `home-cp-2`; `permanent:create:home-workers-3` fails that create for good;
/// `crash:status:home-cp-1@4` lets four matching operations pass and kills the fifth.
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
        case image, resources, list, create, wait, delete, apply, status, bootstrap, etcd, kubernetes, gitops, power
    }

    public var kind: Kind
    public var operation: Operation
    /// A provider name or node name; nil matches any.
    public var target: String?
    /// How many matching operations it hits.
    public var count: Int
    /// How many matching operations pass untouched before it starts hitting.
    public var skip: Int

    public init(kind: Kind, operation: Operation, target: String? = nil, count: Int = 1, skip: Int = 0) {
        self.kind = kind
        self.operation = operation
        self.target = target
        self.count = count
        self.skip = skip
    }

    public init(parsing text: String) throws(ClusterError) {
        var body = Substring(text)
        var count = 1
        var skip = 0
        if let at = body.lastIndex(of: "@") {
            guard let parsed = Int(body[body.index(after: at)...]), parsed >= 0 else {
                throw ClusterError(.invalidSpec, "fault \"\(text)\": the number after @ must be zero or more")
            }
            skip = parsed
            body = body[..<at]
        }
        if let star = body.lastIndex(of: "*") {
            guard let parsed = Int(body[body.index(after: star)...]), parsed > 0 else {
                throw ClusterError(.invalidSpec, "fault \"\(text)\": the count after * must be a positive number")
            }
            count = parsed
            body = body[..<star]
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let usage = "write faults as KIND:OPERATION[:TARGET][*COUNT][@SKIP], e.g. ratelimit:create:hcloud*3"
        guard parts.count == 2 || parts.count == 3 else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\" is not KIND:OPERATION[:TARGET][*COUNT]", hint: usage)
        }
        guard let kind = Kind(rawValue: parts[0]) else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\": unknown kind \"\(parts[0])\"", hint: "kinds: " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let operation = Operation(rawValue: parts[1]) else {
            throw ClusterError(.invalidSpec, "fault \"\(text)\": unknown operation \"\(parts[1])\"", hint: "operations: " + Operation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.init(kind: kind, operation: operation, target: parts.count == 3 ? parts[2] : nil, count: count, skip: skip)
    }

    public var description: String {
        "\(kind.rawValue):\(operation.rawValue)\(target.map { ":\($0)" } ?? "")\(count == 1 ? "" : "*\(count)")\(skip == 0 ? "" : "@\(skip)")"
    }
}

/// The error the process "dies" with when a crash fault fires. Nothing after it is recorded;
/// tests reload the state saved at that instant, as a restarted process would.
public struct SimulatedCrash: Error, Sendable, CustomStringConvertible {
    public var fault: SimulatedFault

    public init(fault: SimulatedFault) { self.fault = fault }

    public var description: String { "simulated crash (\(fault))" }
}

/// One operation the simulated world was asked to do: `create hcloud home-cp-1`.
public struct SimulatedOperation: Sendable, Hashable, CustomStringConvertible {
    public var operation: SimulatedFault.Operation
    public var provider: String?
    public var node: String?

    public var description: String { [operation.rawValue, provider, node].compactMap { $0 }.joined(separator: " ") }

    /// Whether a fault aimed at `target` (nil: any) hits this operation.
    public func matches(_ operation: SimulatedFault.Operation, target: String?) -> Bool {
        self.operation == operation && (target == nil || target == provider || target == node)
    }
}
