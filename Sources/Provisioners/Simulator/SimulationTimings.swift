public import ClusterKit

/// How long things take in the simulated world, per provider flavour. Figures are typical of
/// the real systems (Hetzner servers boot in well under a minute, a Talos install plus reboot
/// takes about a minute), so simulated bring-up times are in the right range.
public struct SimulationTimings: Sendable, Hashable, Codable {
    public struct Provider: Sendable, Hashable, Codable {
        /// One API round trip.
        public var apiLatency: Duration
        /// Building or uploading the Talos image the first time.
        public var imagePreparation: Duration
        /// From create accepted to the machine running and reachable.
        public var boot: Duration
        /// Whether the machine config rides along at creation (user data, seed ISO, cloud-init).
        public var acceptsUserData: Bool

        public init(apiLatency: Duration, imagePreparation: Duration, boot: Duration, acceptsUserData: Bool) {
            self.apiLatency = apiLatency
            self.imagePreparation = imagePreparation
            self.boot = boot
            self.acceptsUserData = acceptsUserData
        }
    }

    public var hetzner = Provider(apiLatency: .milliseconds(300), imagePreparation: .seconds(240), boot: .seconds(35), acceptsUserData: true)
    public var libvirt = Provider(apiLatency: .milliseconds(500), imagePreparation: .seconds(60), boot: .seconds(15), acceptsUserData: true)
    public var proxmox = Provider(apiLatency: .milliseconds(300), imagePreparation: .seconds(90), boot: .seconds(40), acceptsUserData: true)
    public var simulator = Provider(apiLatency: .milliseconds(100), imagePreparation: .seconds(5), boot: .seconds(10), acceptsUserData: false)

    /// Talos API round trip.
    public var talosLatency: Duration = .milliseconds(200)
    /// From config accepted to the node running its services (install to disk, reboot).
    public var installAndReboot: Duration = .seconds(70)
    /// From `Bootstrap` to the Kubernetes API answering (etcd, then the static pods).
    public var bootstrapToAPI: Duration = .seconds(40)
    /// From a further control plane running to etcd adding it as a learner: Talos' etcd service
    /// starts and calls MemberAddAsLearner; peers connect in under a second (siderolabs/talos#14097,
    /// FAILOVER-FACTS.md sections 1.2 and 1.3), the rest is the service starting.
    public var etcdLearnerAdd: Duration = .seconds(5)
    /// How long a learner waits for its promotion, per voting member the cluster has once it is
    /// promoted. Measured on Talos 1.13 VMs (siderolabs/talos#14097, FAILOVER-FACTS.md 1.3):
    /// 90.6 s with 2 control planes and 135-137 s with 3, about 45 s per voter. Talos retries
    /// MemberPromote every 2 s for up to 10 minutes; etcd allows one learner at a time, so
    /// joins queue behind each other ("too many learner members in cluster").
    public var etcdPromotionPerVoter: Duration = .seconds(45)
    /// From node running and API up to the kubelet reporting Ready.
    public var kubeletReady: Duration = .seconds(20)
    /// From a pod's creation to Running: the Kubernetes pod startup SLO, 5 s at the 99th
    /// percentile for stateless pods with their images present (kubernetes/community
    /// `sig-scalability/slos/pod_startup_latency.md`).
    public var podStartup: Duration = .seconds(5)
    /// From eviction to the pod gone: the default `terminationGracePeriodSeconds`, 30 s
    /// (kubernetes/website `concepts/workloads/pods/pod-lifecycle.md`); a pod that ignores
    /// SIGTERM takes all of it.
    public var podTermination: Duration = .seconds(30)
    /// Flux controllers up and the first reconcile of the GitOps path done.
    public var fluxInstall: Duration = .seconds(45)
    /// From a floating IP's assignment to traffic reaching the new holder. Hetzner gives no figure
    /// for Cloud floating IPs; keepalived plus an API claim measured 15-20 s of total failover
    /// (mysticaltech/terraform-hcloud-kube-hetzner PR #2051, FAILOVER-FACTS.md section 4), of
    /// which keepalived's own detection is about 3 s (three 1 s adverts): about 12-17 s.
    public var floatingIPRouting: Duration = .seconds(14)
    /// Each physical process varies by up to this fraction either way, deterministically per seed and node.
    public var jitter: Double = 0.15

    public init() {}

    public func provider(type: String) -> Provider {
        switch type {
        case "hetzner": hetzner
        case "libvirt": libvirt
        case "proxmox": proxmox
        default: simulator
        }
    }
}
