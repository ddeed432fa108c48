/// A spec as decoded so far: every part that decoded cleanly, nil for parts that did not, so
/// validation can still check the rest and one pass reports as much as possible.
struct SpecDraft {
    var name: String?
    var talos: TalosSettings?
    var kubernetes: KubernetesSettings?
    var endpoint: EndpointSpec?
    var network: NetworkSpec?
    /// Providers that decoded, with the index they have in the file (for field paths).
    var providers: [(index: Int, spec: ProviderSpec)] = []
    /// True when every entry of `providers:` decoded, so a pool naming an unknown provider is the
    /// pool's fault and not a knock-on effect of a broken provider entry.
    var providersComplete = true
    var pools: [(index: Int, spec: PoolSpec)] = []
    var poolsComplete = true
    var gitops: GitOpsSpec?
    var failover: FailoverSpec?
    var drills: DrillSpec?
    /// Whether `drills.guards.minReadyControlPlanes` was written (otherwise it defaults to the
    /// control-plane total).
    var minReadyControlPlanesGiven = false
    /// Every patch that decoded cleanly, with its nodes, for ``PatchGuard``.
    var patchSources: [PatchSource] = []

    func provider(named name: String) -> (index: Int, spec: ProviderSpec)? {
        providers.first { $0.spec.name == name }
    }

    func pool(named name: String) -> (index: Int, spec: PoolSpec)? {
        pools.first { $0.spec.name == name }
    }
}
