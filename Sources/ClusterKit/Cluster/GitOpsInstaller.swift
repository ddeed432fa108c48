import Foundation

/// What Flux in a cluster reconciles, and how far it got.
public struct GitOpsStatus: Sendable, Hashable, Codable {
    /// The GitRepository's `spec.url`.
    public var url: String
    public var branch: String
    /// The Kustomization's `spec.path`.
    public var path: String
    /// The GitRepository and the Kustomization are Ready at the same revision, and neither is suspended.
    public var ready: Bool
    /// The revision Flux last applied (`<branch>@sha1:<commit>`); nil before its first reconcile.
    public var revision: String?
    /// Either object has `spec.suspend: true`: Flux reconciles nothing until it is resumed.
    public var suspended: Bool
    /// Flux's own message when not ready (the failing object's `Ready` condition).
    public var message: String?

    public init(url: String, branch: String, path: String, ready: Bool, revision: String? = nil, suspended: Bool = false, message: String? = nil) {
        self.url = url
        self.branch = branch
        self.path = path
        self.ready = ready
        self.revision = revision
        self.suspended = suspended
        self.message = message
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        branch = try container.decode(String.self, forKey: .branch)
        path = try container.decode(String.self, forKey: .path)
        ready = try container.decode(Bool.self, forKey: .ready)
        revision = try container.decodeIfPresent(String.self, forKey: .revision)
        suspended = try container.decodeIfPresent(Bool.self, forKey: .suspended) ?? false
        message = try container.decodeIfPresent(String.self, forKey: .message)
    }

    /// Whether Flux reconciles what the spec names. The URL compares as bootstrap commits it (an
    /// SSH URL gains the `git` user), the path without `./` or a trailing `/`.
    public func matches(_ spec: GitOpsSpec) -> Bool {
        let committed = (try? FluxBootstrapLayout(spec: spec))?.committedURL
        return (url == spec.url || url == committed) && branch == spec.branch
            && FluxBootstrapLayout.normalise(path) == FluxBootstrapLayout.normalise(spec.path)
    }

    /// One line for `status`: `ready at main@sha1:0123abcd (clusters/home)`.
    public var summary: String {
        let at = revision.map { " at \(Self.short($0))" } ?? ""
        if suspended { return "suspended\(at) (\(path))" }
        if ready { return "ready\(at) (\(path))" }
        return "not ready\(at) (\(path))" + (message.map { ": \($0)" } ?? "")
    }

    /// `main@sha1:<40 hex>` shortened to 8 hex digits, as `flux get` prints revisions.
    static func short(_ revision: String) -> String {
        guard let range = revision.range(of: "@sha1:") else { return revision }
        return String(revision[..<range.upperBound]) + revision[range.upperBound...].prefix(8)
    }
}

/// Installs Flux in the cluster, pointed at the GitOps repository path (the layout `flux bootstrap` writes).
public protocol GitOpsInstaller: Sendable {
    func status() async throws -> GitOpsStatus?
    /// Installs Flux, or brings an installation to the spec, and returns once Flux is Ready at
    /// the commit now on the branch.
    ///
    /// An installation that reconciles another URL, branch or path is refused unless `force` is
    /// set (as `flux bootstrap` refuses to overwrite the path of an existing Kustomization).
    @discardableResult
    func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome
}
