internal import Foundation

/// Rules about what the Talos configs of a spec will do on real nodes: the Talos/Kubernetes
/// support window, the VIP's link, labels the kubelet may set, the image reference. Kept apart
/// from the structural rules in ``SpecValidator``.
extension SpecValidator {
    func validateTalosConfigs() {
        validateSupportWindow()
        validateEndpointLink()
        validateKubeletLabels()
    }

    // MARK: - Versions

    /// Talos refuses Kubernetes outside its window, and this build writes only the contracts of
    /// the Talos releases in ``TalosSupportWindow``.
    func validateSupportWindow() {
        guard let talos = draft.talos?.version, let kubernetes = draft.kubernetes?.version,
            let problem = TalosSupportWindow.problem(talos: talos, kubernetes: kubernetes)
        else { return }
        walker.error(at: problem.onTalos ? "talos.version" : "kubernetes.version", problem.message, hint: problem.hint)
    }

    // MARK: - VIP link

    /// A layer-2 VIP is announced on one link of each control plane; without one Talos has
    /// nothing to announce it on (`Layer2VIPConfig.link` is required in practice: Talos docs,
    /// "Virtual (shared) IP").
    func validateEndpointLink() {
        guard let endpoint = draft.endpoint else { return }
        let linkPath: String
        switch endpoint.vipLink {
        case .selector: linkPath = "endpoint.linkSelector"
        default: linkPath = "endpoint.link"
        }
        guard case .vip = endpoint.kind else {
            if endpoint.vipLink != nil {
                walker.error(at: linkPath, "link and linkSelector name the link of a `vip:` endpoint; this endpoint has none",
                    hint: "remove it, or use `vip:`")
            }
            return
        }
        switch endpoint.vipLink {
        case nil:
            walker.error(at: "endpoint.vip", "a VIP endpoint needs the control planes' link to announce it on",
                hint: "add `link: <interface>` (e.g. ens18) or `linkSelector: <Talos CEL expression>` (e.g. link.driver == \"virtio_net\") under endpoint")
        case .name(let name):
            // Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL), no '/' or spaces.
            if name.isEmpty || name.utf8.count > 15 || name.contains("/") || name.contains(where: \.isWhitespace) || name == "." || name == ".." {
                walker.error(at: linkPath, "\"\(name)\" is not a network interface name", hint: "up to 15 characters without '/' or spaces, e.g. ens18 or eth0")
            }
        case .selector(let expression):
            if expression.trimmingCharacters(in: .whitespaces).isEmpty {
                walker.error(at: linkPath, "the link selector is empty", hint: "a Talos CEL expression over `link`, e.g. link.driver == \"virtio_net\"")
            }
        }
    }

    // MARK: - Labels

    func validateKubeletLabels() {
        for (index, pool) in draft.pools {
            for key in pool.labels.keys.sorted() where !NodeRestriction.kubeletMaySet(label: key) {
                walker.error(at: "pools[\(index)].labels.\(key)", "a node may not set label \(key) on itself, and Talos applies labels with the node's own credentials",
                    hint: NodeRestriction.labelHint(key))
            }
        }
    }
}
