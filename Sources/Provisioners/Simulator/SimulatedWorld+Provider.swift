public import ClusterKit

/// Provider-side operations: images, shared resources, machines.
extension SimulatedWorld {
    static func imageKey(_ request: ImageRequest) -> String {
        "\(request.platform)-\(request.architecture)-\(request.talosVersion)-\(request.schematicID.prefix(12))"
    }

    func ensureImage(provider: String, _ request: ImageRequest) async throws -> ProviderImage {
        let timing = providerTimings(provider)
        let key = Self.imageKey(request)
        // The first caller starts the build; the image is usable once it is done.
        let readyAt: Double = try await perform(.image, provider: provider, node: nil, latency: timing.apiLatency) { state, now in
            if let record = state.providers[provider]?.images[key] { return record.readyAt }
            let readyAt = now + self.duration(timing.imagePreparation, seed: state.seed, node: provider, process: "image")
            state.providers[provider]?.images[key] = .init(image: ProviderImage(id: "image-\(key)", description: "Talos \(request.talosVersion) \(request.platform) \(request.architecture)"), readyAt: readyAt)
            return readyAt
        }
        let now = seconds(clock.now)
        if readyAt > now { try await clock.sleep(for: .milliseconds(Int64(((readyAt - now) * 1000).rounded(.up)))) }
        guard let image = snapshot().providers[provider]?.images[key]?.image else {
            throw ProvisionerError(.notFound, "image \(key) vanished while it was being prepared", provider: provider)
        }
        return image
    }

    func ensureClusterResources(provider: String, cluster: String) async throws {
        try await perform(.resources, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, _ in
            state.providers[provider]?.clusterResources.insert(cluster)
        }
    }

    func deleteClusterResources(provider: String, cluster: String) async throws {
        try await perform(.resources, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, _ in
            state.providers[provider]?.clusterResources.remove(cluster)
            state.clusters[cluster]?.floatingIPs = [:]
            state.clusters[cluster]?.floatingIPAddresses = [:]
            // With every machine gone, etcd's data and the Kubernetes objects went with the disks.
            if Self.machines(state, cluster: cluster).allSatisfy(\.deleted) {
                state.clusters[cluster] = nil
            }
        }
    }

    func listMachines(provider: String, cluster: String) async throws -> [ObservedMachine] {
        try await perform(.list, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, now in
            (state.providers[provider]?.machines ?? [])
                .filter { $0.identity.cluster == cluster && !$0.deleted }
                .map { self.observed($0, now: now) }
        }
    }

    func createMachine(provider: String, _ request: MachineRequest) async throws -> ObservedMachine {
        let timing = providerTimings(provider)
        let summary = try request.userData.map { payload throws(ClusterError) in (try MachineConfigSummary(parsing: payload), Self.digest(payload)) }
        return try await perform(.create, provider: provider, node: request.identity.node, latency: timing.apiLatency) { state, now in
            guard var providerState = state.providers[provider] else {
                throw ProvisionerError(.notFound, "no such provider", provider: provider)
            }
            // Names are unique per provider, as Hetzner enforces (uniqueness_error) and libvirt does for domains.
            if let existing = providerState.machines.first(where: { $0.identity.node == request.identity.node && !$0.deleted }) {
                throw ProvisionerError(.conflict, "a machine named \(existing.identity.node) already exists (\(existing.providerID))", provider: provider, resource: request.identity.node)
            }
            guard providerState.images.values.contains(where: { $0.image.id == request.image.id && $0.readyAt <= now }) else {
                throw ProvisionerError(.invalidInput, "image \(request.image.id) is not available", provider: provider, resource: request.identity.node)
            }
            let serial = state.nextSerial
            state.nextSerial += 1
            let boot = self.duration(timing.boot, seed: state.seed, node: request.identity.node, process: "boot")
            var machine = SimulatedMachine(
                providerID: "sim-\(serial)", provider: provider, identity: request.identity, size: request.size,
                location: request.location ?? provider, imageID: request.image.id,
                talosVersion: request.image.description.split(separator: " ").dropFirst().first.map(String.init),
                address: "10.\(10 + providerState.index).\(serial / 250).\(serial % 250 + 1)",
                createdAt: now, runningAt: now + boot)
            if let (config, digest) = summary, timing.acceptsUserData {
                // The config rides along as user data: Talos applies it on first boot.
                machine.config = config
                machine.configDigest = digest
                machine.configAppliedAt = machine.runningAt
                machine.talosRunningAt = machine.runningAt + self.duration(self.timings.installAndReboot, seed: state.seed, node: request.identity.node, process: "install")
            }
            providerState.machines.append(machine)
            state.providers[provider] = providerState
            return self.observed(machine, now: now)
        }
    }

    func machine(provider: String, id: String) async throws -> ObservedMachine {
        try await perform(.wait, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, now in
            guard let machine = state.providers[provider]?.machines.first(where: { $0.providerID == id && !$0.deleted }) else {
                throw ProvisionerError(.notFound, "machine \(id) does not exist", provider: provider, resource: id)
            }
            return self.observed(machine, now: now)
        }
    }

    func deleteMachine(provider: String, _ machine: ObservedMachine) async throws {
        try await perform(.delete, provider: provider, node: machine.identity.node, latency: providerTimings(provider).apiLatency) { state, now in
            guard let index = state.providers[provider]?.machines.firstIndex(where: { $0.providerID == machine.providerID && !$0.deleted }) else { return }
            state.providers[provider]?.machines[index].deleted = true
            state.providers[provider]?.machines[index].diedAt = now
            for (name, cluster) in state.clusters {
                for (ip, target) in cluster.floatingIPs where target == machine.providerID {
                    state.clusters[name]?.floatingIPs[ip] = nil
                }
            }
        }
    }

    func ensureFloatingIP(provider: String, name: String, cluster: String) async throws -> String {
        try await perform(.resources, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, _ in
            let index = state.providers[provider]?.index ?? 0
            let address = "203.0.113.\(10 + index)"
            state.clusters[cluster, default: .init()].floatingIPAddresses[name] = address
            return address
        }
    }

    func floatingIPAddress(provider: String, name: String, cluster: String) async throws -> String? {
        try await perform(.list, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, _ in
            state.clusters[cluster]?.floatingIPAddresses[name]
        }
    }

    func assignFloatingIP(provider: String, name: String, cluster: String, to machine: ObservedMachine) async throws -> String {
        try await perform(.resources, provider: provider, node: machine.identity.node, latency: providerTimings(provider).apiLatency) { state, now in
            guard let address = state.clusters[cluster]?.floatingIPAddresses[name] else {
                throw ProvisionerError(.notFound, "floating IP \(name) does not exist; run up first", provider: provider, resource: name)
            }
            state.clusters[cluster, default: .init()].floatingIPs[name] = machine.providerID
            state.clusters[cluster, default: .init()].floatingIPAssignedAt[name] = now
            return address
        }
    }

    func floatingIPTarget(provider: String, name: String, cluster: String) async throws -> String? {
        try await perform(.list, provider: provider, node: nil, latency: providerTimings(provider).apiLatency) { state, _ in
            state.clusters[cluster]?.floatingIPs[name]
        }
    }
}
