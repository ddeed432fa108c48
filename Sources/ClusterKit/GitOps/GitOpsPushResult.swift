/// What a bootstrap left on the branch.
public struct GitOpsPushResult: Sendable, Hashable, Codable {
    public var branch: String
    /// The branch head after the bootstrap (40 hex digits): the pushed commit, or the existing
    /// head when nothing changed.
    public var commit: String
    /// Messages of the commits pushed, oldest first; empty when the layout was already there.
    public var commits: [String]
    /// How many pushes were tried (more than one after a race with another writer).
    public var pushAttempts: Int

    public init(branch: String, commit: String, commits: [String], pushAttempts: Int) {
        self.branch = branch
        self.commit = commit
        self.commits = commits
        self.pushAttempts = pushAttempts
    }

    /// The revision Flux reports once it has the commit: `<branch>@sha1:<commit>`, the format of
    /// GitRepository `status.artifact.revision` (source-controller v1, docs/spec/v1/gitrepositories.md).
    public var revision: String { "\(branch)@sha1:\(commit)" }

    /// Whether anything was pushed.
    public var changed: Bool { !commits.isEmpty }
}
