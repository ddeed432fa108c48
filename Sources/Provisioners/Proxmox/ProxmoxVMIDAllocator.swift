/// Hands out Proxmox VM ids so that no two clones of one provider ever try the same id.
///
/// Proxmox's `/cluster/nextid` reserves nothing: it answers the lowest free id, so every node
/// asking at once gets the same one and all clones but the first fail with "config file already
/// exists" (Proxmox VE API, `/cluster/nextid`: "Get next free VMID"; a known trap of Proxmox
/// automation). One allocator per provider claims each id here before anything is sent, skips
/// ids already claimed, and asks Proxmox whether the candidate is free (`nextid?vmid=N`), so
/// concurrent creates of one run get distinct ids; ids taken outside this process are caught by
/// that check or, in the gap after it, by the clone's own refusal (the caller then claims again).
///
/// It also remembers which id each node's clone was sent with, so a clone whose answer was lost
/// is found again instead of being cloned twice.
actor ProxmoxVMIDAllocator {
    private var claimed: Set<Int> = []
    private var cloneSent: [String: Int] = [:]

    /// The first id from `start` up that nobody in this process claimed and Proxmox calls free.
    func claim(from start: Int, isFree: @Sendable (Int) async throws -> Bool) async throws -> Int {
        var candidate = start
        while true {
            guard !claimed.contains(candidate) else {
                candidate += 1
                continue
            }
            // Claimed before the await: a concurrent caller resuming meanwhile skips it.
            claimed.insert(candidate)
            let free: Bool
            do {
                free = try await isFree(candidate)
            } catch {
                claimed.remove(candidate)
                throw error
            }
            if free { return candidate }
            candidate += 1
        }
    }

    /// Records that a clone for `node` was sent with `vmid` (its outcome not known yet).
    func noteCloneSent(node: String, vmid: Int) { cloneSent[node] = vmid }

    /// The id of the clone last sent for `node`, if any.
    func cloneSent(for node: String) -> Int? { cloneSent[node] }

    func forgetClone(node: String) { cloneSent[node] = nil }
}
