public import Foundation

extension GitOpsRepository {
    /// Bootstraps the repository a spec names: resolves the layout and credentials (generating
    /// the cluster's deploy key on first use), then ``bootstrap(_:)``.
    ///
    /// A deploy key generated in this run is not registered with the Git host yet, so a refused
    /// push is reported with the public key and where to add it; the key stays stored, and the
    /// next run uses it.
    public func bootstrap(
        spec: GitOpsSpec, cluster: String, components: FluxComponents,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> GitOpsBootstrapOutcome {
        let layout = try FluxBootstrapLayout(spec: spec)
        let resolution = try GitOpsCredentialResolution.resolve(spec: spec, layout: layout, cluster: cluster, environment: environment)
        var messages = [components.summary]
        if let notice = resolution.notice { messages.append(notice) }
        let push: GitOpsPushResult
        do {
            push = try await bootstrap(GitOpsBootstrapRequest(layout: layout, components: components, credentials: resolution.credentials))
        } catch {
            guard let notice = resolution.notice else { throw error }
            let first = String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw ClusterError(.refused, "bootstrapping \(layout.cloneURL) with the newly generated deploy key failed: \(first)",
                hint: notice + "\nthen run the command again", cause: error)
        }
        messages.append(
            push.changed
                ? "pushed \(push.commits.map { "\"\($0)\"" }.joined(separator: " and ")) to \(layout.cloneURL) at \(push.revision)"
                : "Flux manifests are up to date at \(push.revision)")
        return GitOpsBootstrapOutcome(
            push: push, componentsVersion: components.version, sourceSecret: resolution.credentials.sourceSecret,
            credentialsGiven: resolution.given, messages: messages)
    }
}
