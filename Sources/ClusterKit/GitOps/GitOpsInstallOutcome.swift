/// What installing or re-running Flux did.
public struct GitOpsInstallOutcome: Sendable, Hashable {
    /// The revision Flux is Ready at: `<branch>@sha1:<commit>`.
    public var revision: String
    /// Messages of the commits pushed, oldest first; empty when Git was up to date.
    public var pushedCommits: [String]
    /// Objects applied with server-side apply, in order (`Kind namespace/name`); empty when Flux
    /// was installed already and its sync objects matched.
    public var applied: [String]
    /// What happened to the `flux-system` Secret.
    public var secret: SecretAction
    /// Lines for a person: the Flux version, a generated deploy key and where to register it,
    /// what was pushed and applied.
    public var messages: [String]

    /// Whether the run changed anything: pushed a commit, applied an object or wrote the Secret.
    public var changedAnything: Bool { !pushedCommits.isEmpty || !applied.isEmpty || secret != .kept }

    public enum SecretAction: String, Sendable, Hashable {
        case created, replaced, kept
    }

    public init(revision: String, pushedCommits: [String], applied: [String], secret: SecretAction, messages: [String]) {
        self.revision = revision
        self.pushedCommits = pushedCommits
        self.applied = applied
        self.secret = secret
        self.messages = messages
    }
}
