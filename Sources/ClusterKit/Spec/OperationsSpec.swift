/// The GitOps repository Flux is bootstrapped against.
public struct GitOpsSpec: Sendable, Hashable {
    public var url: String
    public var branch: String
    /// Path in the repository Flux reconciles, e.g. `clusters/home`.
    public var path: String
    /// How Flux authenticates to the repository; nil for a public repository.
    public var credentials: SecretReference?
    /// known_hosts for an SSH repository: the host key is checked against it, never accepted blindly.
    public var knownHostsFile: String?
    /// The pinned Flux components (``FluxSpec``); nil when the spec names none.
    public var flux: FluxSpec?

    public init(
        url: String, branch: String, path: String, credentials: SecretReference?, knownHostsFile: String? = nil, flux: FluxSpec? = nil
    ) {
        self.url = url
        self.branch = branch
        self.path = path
        self.credentials = credentials
        self.knownHostsFile = knownHostsFile
        self.flux = flux
    }
}

public struct FailoverSpec: Sendable, Hashable {
    public var ingressIP: IngressIPSpec?
    public var replacement: ReplacementPolicy

    public init(ingressIP: IngressIPSpec?, replacement: ReplacementPolicy) {
        self.ingressIP = ingressIP
        self.replacement = replacement
    }
}

/// The floating IP that carries ingress traffic, and the pools allowed to hold it.
public struct IngressIPSpec: Sendable, Hashable {
    public var name: String
    /// Provider holding the IP (must support floating IPs).
    public var provider: String
    /// Pools whose nodes may hold the IP, in order of preference.
    public var candidatePools: [String]

    public init(name: String, provider: String, candidatePools: [String]) {
        self.name = name
        self.provider = provider
        self.candidatePools = candidatePools
    }
}

public struct ReplacementPolicy: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Failed nodes are replaced by playbooks without asking.
        case automatic
        /// Playbooks stop before replacing and say what they would do.
        case manual
    }

    public var mode: Mode
    /// How long a node may be unreachable before it counts as lost.
    public var nodeLostAfter: Duration

    public init(mode: Mode, nodeLostAfter: Duration) {
        self.mode = mode
        self.nodeLostAfter = nodeLostAfter
    }
}

/// Scheduled failover drills.
public struct DrillSpec: Sendable, Hashable {
    public enum Scenario: String, Sendable, Hashable, CaseIterable {
        case loseControlPlane = "lose-controlplane"
        case loseWorker = "lose-worker"
        case moveIngressIP = "move-ingress-ip"
        case etcdRestore = "etcd-restore"
    }

    /// Five-field cron expression, e.g. `0 2 * * 0` (Sunday 02:00).
    public var schedule: CronSchedule
    public var scenarios: [Scenario]
    public var guards: DrillGuards
    /// Where a heartbeat is pinged after each drill (the URL usually embeds a token).
    public var heartbeatURL: SecretReference?

    public init(schedule: CronSchedule, scenarios: [Scenario], guards: DrillGuards, heartbeatURL: SecretReference?) {
        self.schedule = schedule
        self.scenarios = scenarios
        self.guards = guards
        self.heartbeatURL = heartbeatURL
    }
}

public struct DrillGuards: Sendable, Hashable {
    /// Refuse to start unless every node is Ready.
    public var requireHealthy: Bool
    /// Refuse to start if fewer control-plane nodes than this are Ready.
    public var minReadyControlPlanes: Int
    /// Abort and restore when the drill runs longer than this.
    public var maxDuration: Duration

    public init(requireHealthy: Bool, minReadyControlPlanes: Int, maxDuration: Duration) {
        self.requireHealthy = requireHealthy
        self.minReadyControlPlanes = minReadyControlPlanes
        self.maxDuration = maxDuration
    }
}
