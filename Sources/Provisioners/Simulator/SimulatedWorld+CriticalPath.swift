public import ClusterKit

extension SimulatedWorld {
    /// The fastest any scheduler could bring these nodes up in this world: every node's own chain
    /// (its provider's image, one create call, boot, install and reboot), the bootstrap node's
    /// etcd and API start, then each kubelet turning Ready and Flux's first reconcile. No polling,
    /// no concurrency limit, no retries: the floor to compare a real run against.
    ///
    /// - Parameters:
    ///   - nodes: the nodes brought up, with their providers.
    ///   - bootstrapNode: the control plane etcd is bootstrapped on.
    ///   - gitops: whether Flux is installed once the API answers.
    public func bringUpFloor(nodes: [NodePlan], bootstrapNode: String, gitops: Bool) -> Duration {
        let seed = snapshot().seed
        var runningAt: [String: Double] = [:]
        for node in nodes {
            let timing = providerTimings(node.provider)
            let name = node.identity.node
            var chain = duration(timing.imagePreparation, seed: seed, node: node.provider, process: "image")
            chain += seconds(timing.apiLatency) * 2  // the image call, then the create call
            chain += duration(timing.boot, seed: seed, node: name, process: "boot")
            if !timing.acceptsUserData { chain += seconds(timings.talosLatency) }
            chain += duration(timings.installAndReboot, seed: seed, node: name, process: "install")
            runningAt[name] = chain
        }
        let apiUp = (runningAt[bootstrapNode] ?? 0) + seconds(timings.talosLatency) + seconds(timings.bootstrapToAPI)
        var floor = apiUp
        for node in nodes {
            let ready = max(runningAt[node.identity.node] ?? 0, apiUp) + duration(timings.kubeletReady, seed: seed, node: node.identity.node, process: "kubelet")
            floor = max(floor, ready)
        }
        if gitops { floor = max(floor, apiUp + seconds(timings.fluxInstall)) }
        return .milliseconds(Int64((floor * 1000).rounded()))
    }
}
