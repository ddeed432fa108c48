public import Foundation

/// The credentials for a spec's GitOps repository, found (or, for a deploy key, generated) the
/// way `flux bootstrap git` does it.
public struct GitOpsCredentialResolution: Sendable {
    public var credentials: GitOpsCredentials
    /// Whether the spec named credentials; the cluster half replaces an existing `flux-system`
    /// Secret only then, as flux does.
    public var given: Bool
    /// Set when a deploy key was generated: where it is and where to register it.
    public var notice: String?

    /// SSH: the key from `gitops.credentialsFile`/`credentialsEnv`, else the cluster's own deploy
    /// key (generated on first use, ECDSA P-384), and the host keys from `gitops.knownHostsFile`
    /// (required: the host key is verified, never accepted on first sight).
    /// HTTPS: the token from `gitops.credentials*`, the user from the URL (default `git`).
    public static func resolve(
        spec: GitOpsSpec, layout: FluxBootstrapLayout, cluster: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ClusterError) -> GitOpsCredentialResolution {
        if layout.usesSSH {
            guard let knownHostsFile = spec.knownHostsFile else {
                let host = URLComponents(string: layout.cloneURL)?.host ?? "the Git host"
                throw ClusterError(.invalidSpec, "gitops.knownHostsFile is missing: the SSH host key of \(host) must be known before pushing",
                    hint: "run `ssh-keyscan \(host) > known_hosts`, compare the fingerprints with the ones your Git host publishes, and set gitops.knownHostsFile")
            }
            let components = URLComponents(string: layout.cloneURL)
            let host = components?.host ?? ""
            let port = components?.port ?? 22
            let lines = KnownHostsFilter.lines(
                for: host, port: port, in: try read(expand(knownHostsFile, environment), what: "gitops.knownHostsFile"))
            guard !lines.isEmpty else {
                let name = port == 22 ? host : "[\(host)]:\(port)"
                throw ClusterError(.invalidSpec, "gitops.knownHostsFile \(knownHostsFile) has no host key for \(name)",
                    hint: "add the keys of \(name) (`ssh-keyscan\(port == 22 ? "" : " -p \(port)") \(host)`, fingerprints checked against your Git host's)")
            }
            // Only the Git host's lines go to ssh and into the cluster's Secret.
            let knownHosts = lines.joined(separator: "\n") + "\n"
            switch spec.credentials {
            case .file(let path):
                let file = expand(path, environment)
                let key = try FluxDeployKey(privateKeyPEM: try read(file, what: "gitops.credentialsFile"), origin: file)
                return GitOpsCredentialResolution(credentials: .ssh(deployKey: key, knownHosts: knownHosts), given: true)
            case .environment(let variable):
                let key = try FluxDeployKey(privateKeyPEM: try value(of: variable, environment), origin: "environment variable \(variable)")
                return GitOpsCredentialResolution(credentials: .ssh(deployKey: key, knownHosts: knownHosts), given: true)
            case nil:
                let file = FluxDeployKey.defaultFile(cluster: cluster, environment: environment)
                let (key, generated) = try FluxDeployKey.loadOrGenerate(at: file)
                return GitOpsCredentialResolution(
                    credentials: .ssh(deployKey: key, knownHosts: knownHosts), given: false,
                    notice: generated ? key.deployKeyNotice(repository: layout.committedURL, file: file) : nil)
            }
        }
        let user = URLComponents(string: layout.cloneURL)?.user.flatMap { $0.isEmpty ? nil : $0 } ?? "git"
        let token: String
        switch spec.credentials {
        case .file(let path):
            let file = expand(path, environment)
            token = try read(file, what: "gitops.credentialsFile").trimmingCharacters(in: .whitespacesAndNewlines)
        case .environment(let variable):
            token = try value(of: variable, environment).trimmingCharacters(in: .whitespacesAndNewlines)
        case nil:
            throw ClusterError(.invalidSpec, "gitops.url is HTTPS but no token is given: pushing the Flux manifests needs one",
                hint: "set gitops.credentialsEnv: FLUX_GIT_TOKEN and export a token with write access to the repository")
        }
        return GitOpsCredentialResolution(credentials: .https(username: user, token: token), given: true)
    }

    /// `path` with a leading `~` replaced by `$HOME`, as a shell would.
    public static func expand(_ path: String, _ environment: [String: String]) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return home + path.dropFirst()
    }

    private static func read(_ path: String, what: String) throws(ClusterError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterError(.secrets, "cannot read \(what) \(path)", hint: "check the path and that it is readable by you")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func value(of variable: String, _ environment: [String: String]) throws(ClusterError) -> String {
        guard let value = environment[variable], !value.isEmpty else {
            throw ClusterError(.secrets, "environment variable \(variable) (gitops.credentialsEnv) is not set",
                hint: "export \(variable) before running clusterctl")
        }
        return value
    }
}
