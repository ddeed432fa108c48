/// How the bootstrap push and Flux authenticate to the GitOps repository. Never printed: its
/// descriptions name only the kind and public parts.
public enum GitOpsCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// A deploy key and the known_hosts the server's host key is checked against.
    case ssh(deployKey: FluxDeployKey, knownHosts: String)
    /// A token sent as the basic-auth password (`flux bootstrap git --token-auth`).
    case https(username: String, token: String)

    /// The `flux-system/flux-system` Secret Flux reads these from, with the keys
    /// `pkg/manifestgen/sourcesecret` (fluxcd/flux2 v2.9.4) writes: `identity`, `identity.pub`,
    /// `known_hosts` over SSH; `username`, `password` over HTTPS. It goes to the cluster only,
    /// never into Git or a machine config.
    public var sourceSecret: FluxSourceSecret {
        switch self {
        case .ssh(let key, let knownHosts):
            FluxSourceSecret(stringData: [
                "identity": key.privateKeyPEM, "identity.pub": key.publicKeyLine + "\n", "known_hosts": knownHosts,
            ])
        case .https(let username, let token):
            FluxSourceSecret(stringData: ["username": username, "password": token])
        }
    }

    public var description: String {
        switch self {
        case .ssh(let key, _): "SSH \(key)"
        case .https(let username, _): "HTTPS token for user \(username) (redacted)"
        }
    }

    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
