public import ClusterKit

/// How long things take in the simulated world, per provider flavour. Each figure is taken from
/// a measurement of the real system, named in its comment with the number measured (an issue
/// thread, a log in a public repository, a project's own document); where a figure is assembled
/// from measured parts, the comment shows the sum. Where no published measurement was found,
/// the comment says so and why the value was chosen, so a reader knows which RTOs rest on what.
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

    /// Hetzner Cloud.
    ///
    /// - apiLatency: no published round-trip measurement found. The hcloud CLI shows a whole
    ///   shutdown action (the request, then polling until the action is done) taking 700 ms
    ///   (syself/cluster-api-provider-hetzner#1223), so one round trip is below that; 300 ms chosen.
    /// - imagePreparation: no timed run with a nameable source found. The steps are those of
    ///   apricote/hcloud-upload-image (helper server, rescue system, write the image, power off,
    ///   snapshot), whose own documentation (`hcloudimages/doc.go`) puts an upload at a few
    ///   minutes of server time at most; creating a server from a system image took 4.7 s (#1223
    ///   above), so the time is the rescue boot, the download, the write and the snapshot. 4
    ///   minutes chosen.
    /// - boot: creating servers from a snapshot measured "Creation complete after 1m9s" to "1m10s"
    ///   (hetznercloud/terraform-provider-hcloud#966) and 1m1s for a 0.38 GB snapshot
    ///   (ifeulner/packer-hcloud-microos, README), creation time growing with the snapshot's size
    ///   (apricote/hcloud-upload-image#101, which shrank the Talos snapshot to 0.2 GiB). Talos then
    ///   needs about 14 s of kernel boot before its API answers (siderolabs/talos#8446). 75-84 s in
    ///   all; 75 s chosen, the low end, for the small Talos snapshot.
    public var hetzner = Provider(apiLatency: .milliseconds(300), imagePreparation: .seconds(240), boot: .seconds(75), acceptsUserData: true)
    /// libvirt over SSH.
    ///
    /// - apiLatency: one `virsh` or `qemu-img` command over an SSH channel; no published
    ///   measurement found, 500 ms kept.
    /// - imagePreparation: fetching the Image Factory nocloud image to the host and checking its
    ///   sha256. No completed timing found: the same download to a Proxmox host was still running
    ///   after 50 s in vdupain/terraform-proxmox-talos-k8s-cluster#8. 60 s chosen.
    /// - boot: Talos under QEMU/KVM offers its maintenance API at 13.98 s of kernel uptime
    ///   (siderolabs/talos#8446); 15 s with the domain start.
    public var libvirt = Provider(apiLatency: .milliseconds(500), imagePreparation: .seconds(60), boot: .seconds(15), acceptsUserData: true)
    /// Proxmox VE.
    ///
    /// - apiLatency: no published measurement found; 300 ms kept.
    /// - imagePreparation: none. The real provisioner only reads the template VM's config
    ///   (`ProxmoxProvisioner.ensureImage`), one call that `apiLatency` already costs; the
    ///   template is built by the operator beforehand.
    /// - boot: creating and starting three Talos VMs through the Proxmox API took "Creation
    ///   complete after 11s" (`proxmox_vm_qemu`, siderolabs/terraform-provider-talos#156), a linked
    ///   clone being "nearly instantaneous" (pve-docs `qm.adoc`); then about 14 s to Talos' API
    ///   (siderolabs/talos#8446): 25 s. A full clone copies the whole disk first and takes longer.
    public var proxmox = Provider(apiLatency: .milliseconds(300), imagePreparation: .zero, boot: .seconds(25), acceptsUserData: true)
    /// The `simulator` provider type stands for no real system, so no measurement applies; its
    /// figures are short so that specs naming it run quickly.
    public var simulator = Provider(apiLatency: .milliseconds(100), imagePreparation: .seconds(5), boot: .seconds(10), acceptsUserData: false)

    /// Talos API round trip. No published measurement found; 200 ms kept, a gRPC call over mutual
    /// TLS to a node that may be in another data centre.
    public var talosLatency: Duration = .milliseconds(200)
    /// From config accepted to the node running its services (install to disk, reboot). Assembled
    /// from measured parts: under libvirt/QEMU the install was done ("controller runtime
    /// finished") at 46.0 s of uptime (siderolabs/talos#7478), the maintenance API having opened
    /// at about 14 s (siderolabs/talos#8446), so at most 32 s; the reboot's delay is gone since
    /// siderolabs/talos#8666; the next boot reached the end of its early services at 15.6 s of
    /// uptime on Proxmox, containerd alone taking 6.0 s (siderolabs/talos#8882); then apid, etcd
    /// and the kubelet start. About 58 s; 60 s chosen.
    public var installAndReboot: Duration = .seconds(60)
    /// From `Bootstrap` to the Kubernetes API answering (etcd, then the static pods). etcd went
    /// from started to healthy in 5 s and the static pods were rendered the same second
    /// (siderolabs/talos#11190, Talos in Docker); no published measurement found for pulling and starting
    /// kube-apiserver, 35 s chosen for it: 40 s.
    public var bootstrapToAPI: Duration = .seconds(40)
    /// From a further control plane running to etcd adding it as a learner: Talos' etcd service
    /// starts and calls MemberAddAsLearner; peers connect in under a second (siderolabs/talos#14097,
    /// FAILOVER-FACTS.md sections 1.2 and 1.3), and the etcd service went from started to healthy
    /// in 5 s (siderolabs/talos#11190).
    public var etcdLearnerAdd: Duration = .seconds(5)
    /// How long a learner waits for its promotion, per voting member the cluster has once it is
    /// promoted. Measured on Talos 1.13 VMs (siderolabs/talos#14097, FAILOVER-FACTS.md 1.3):
    /// 90.6 s with 2 control planes and 135-137 s with 3, about 45 s per voter. Talos retries
    /// MemberPromote every 2 s for up to 10 minutes; etcd allows one learner at a time, so
    /// joins queue behind each other ("too many learner members in cluster").
    public var etcdPromotionPerVoter: Duration = .seconds(45)
    /// From node running and API up to the kubelet reporting Ready. No published measurement
    /// found; 20 s chosen: the kubelet registers, its CNI pod starts (5 s with the image present,
    /// `podStartup`), and Ready lands with the next status update, sent every 10 s by default
    /// (`--node-status-update-frequency`, kubernetes/kubernetes#117801).
    public var kubeletReady: Duration = .seconds(20)
    /// From a pod's creation to Running: the Kubernetes pod startup SLO, 5 s at the 99th
    /// percentile for stateless pods with their images present (kubernetes/community
    /// `sig-scalability/slos/pod_startup_latency.md`).
    public var podStartup: Duration = .seconds(5)
    /// From eviction to the pod gone: the default `terminationGracePeriodSeconds`, 30 s
    /// (kubernetes/website `concepts/workloads/pods/pod-lifecycle.md`); a pod that ignores
    /// SIGTERM takes all of it.
    public var podTermination: Duration = .seconds(30)
    /// Flux controllers up and the first reconcile of the GitOps path done. No published
    /// measurement with a nameable source found for the whole; the reconcile itself is short
    /// ("Kustomization applied in 469.957816ms", "Reconciliation finished in 764.019687ms",
    /// fluxcd/flux2#1193), so nearly all of it is four controller Deployments pulling their
    /// images and starting. 45 s kept.
    public var fluxInstall: Duration = .seconds(45)
    /// From a floating IP's assignment to traffic reaching the new holder. Hetzner gives no figure
    /// for Cloud floating IPs; keepalived plus an API claim measured 15-20 s of total failover
    /// (mysticaltech/terraform-hcloud-kube-hetzner PR #2051, FAILOVER-FACTS.md section 4), of
    /// which keepalived's own detection is about 3 s (three 1 s adverts): about 12-17 s.
    public var floatingIPRouting: Duration = .seconds(14)
    /// Each physical process varies by up to this fraction either way, deterministically per seed
    /// and node. No published distribution found. Repeats within one run agree to 1-2% (135-137 s
    /// promotions, siderolabs/talos#14097; 69-70 s creates, hetznercloud/terraform-provider-hcloud#966);
    /// across setups the same step differs by 15% (61 s and 70 s snapshot creates, see `hetzner`).
    /// 0.15 kept, the spread across setups.
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
