import ClusterKit

/// Stands in, against real providers, for the parts of a cluster this build cannot reach yet:
/// every call fails with a message saying so and what to do instead. Nothing pretends to succeed.
struct UnavailableClusterAPI: TalosAPI, KubernetesAPI, GitOpsInstaller {
    static let reason = ClusterError(
        .refused, "this build has no Talos machine API client yet (gRPC over mutual TLS), so it cannot configure or bootstrap real nodes",
        hint: "run `clusterctl up <cluster> --until machines`, then `clusterctl gen config` and talosctl; or use --simulate")

    func status(of machine: ObservedMachine) async throws -> TalosNodeStatus { throw Self.reason }
    func applyConfiguration(
        _ config: MachineConfigPayload, to machine: ObservedMachine, mode: TalosApplyMode, dryRun: Bool, insecure: Bool
    ) async throws -> TalosApplyResult { throw Self.reason }
    func bootstrap(_ machine: ObservedMachine, recoverFromSnapshot: Bool) async throws -> TalosBootstrapOutcome { throw Self.reason }
    func etcdMembers(via machine: ObservedMachine) async throws -> [EtcdMember] { throw Self.reason }
    func removeEtcdMember(named name: String, via machine: ObservedMachine) async throws { throw Self.reason }
    func leaveEtcd(_ machine: ObservedMachine) async throws { throw Self.reason }
    func etcdSnapshot(via machine: ObservedMachine, to path: String) async throws -> EtcdSnapshotInfo { throw Self.reason }
    func etcdRecover(_ machine: ObservedMachine, from path: String) async throws { throw Self.reason }
    func kubeconfig(via machine: ObservedMachine) async throws -> String { throw Self.reason }
    func version(of machine: ObservedMachine, insecure: Bool) async throws -> TalosVersionInfo { throw Self.reason }
    func services(of machine: ObservedMachine) async throws -> [TalosServiceStatus] { throw Self.reason }
    func reboot(_ machine: ObservedMachine, mode: TalosRebootMode) async throws { throw Self.reason }
    func reset(_ machine: ObservedMachine, options: TalosResetOptions) async throws { throw Self.reason }
    func isAPIServerUp() async throws -> Bool { throw Self.reason }
    func nodes() async throws -> [KubernetesNodeStatus] { throw Self.reason }
    func systemPods() async throws -> [KubernetesPod] { throw Self.reason }
    func setUnschedulable(_ unschedulable: Bool, node: String) async throws { throw Self.reason }
    func pods(onNode node: String) async throws -> [KubernetesPod] { throw Self.reason }
    func evict(_ pod: KubernetesPod) async throws -> KubernetesEviction { throw Self.reason }
    func deleteNode(_ name: String) async throws { throw Self.reason }
    func status() async throws -> GitOpsStatus? { throw Self.reason }
    func install(_ spec: GitOpsSpec, force: Bool) async throws -> GitOpsInstallOutcome { throw Self.reason }
}

/// A provider whose backend cannot be built here (missing credentials, unsupported type). Listing
/// fails, so the planner leaves its pools alone and other providers' pools go ahead.
struct UnavailableProvisioner: Provisioner {
    let name: String
    let reason: ClusterError
    var acceptsUserData: Bool { true }

    func ensureImage(_ request: ImageRequest) async throws -> ProviderImage { throw reason }
    func ensureClusterResources(cluster: String) async throws { throw reason }
    func listMachines(cluster: String) async throws -> [ObservedMachine] { throw reason }
    func createMachine(_ request: MachineRequest) async throws -> ObservedMachine { throw reason }
    func waitUntilRunning(_ machine: ObservedMachine) async throws -> ObservedMachine { throw reason }
    func deleteMachine(_ machine: ObservedMachine) async throws { throw reason }
    func deleteClusterResources(cluster: String) async throws { throw reason }
}

