/// What bootstrapping a spec's repository produced, and what the cluster half needs next: the
/// revision to wait for and the `flux-system` Secret to apply.
public struct GitOpsBootstrapOutcome: Sendable {
    public var push: GitOpsPushResult
    /// The components committed (their version is shown to the user).
    public var componentsVersion: String
    /// The Secret for the cluster; never committed, never in a machine config.
    public var sourceSecret: FluxSourceSecret
    /// Whether the spec named credentials: only then is an existing Secret replaced (as flux does).
    public var credentialsGiven: Bool
    /// Lines for a person: the Flux version, a generated deploy key and where to register it,
    /// what was pushed.
    public var messages: [String]

    public init(push: GitOpsPushResult, componentsVersion: String, sourceSecret: FluxSourceSecret, credentialsGiven: Bool, messages: [String]) {
        self.push = push
        self.componentsVersion = componentsVersion
        self.sourceSecret = sourceSecret
        self.credentialsGiven = credentialsGiven
        self.messages = messages
    }
}
