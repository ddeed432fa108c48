internal import Foundation

/// Names and values that end up in machine configs, provider API calls and remote commands
/// (`virsh`, `qemu-img`, `curl` over SSH), checked against what each of them really allows.
/// Remote commands quote every argument as well (``RemoteCommand``); refusing here means a
/// value never reaches them at all, and the user hears about it from `validate`.
extension SpecValidator {
    // MARK: - Syntax

    /// A libvirt object, storage or host-interface name: letters, digits, `.`, `_`, `-`, `+`.
    static func isIdentifier(_ text: String, maxLength: Int = 64) -> Bool {
        guard !text.isEmpty, text.count <= maxLength, text.first != "-", text != ".", text != ".." else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-+".unicodeScalars.contains($0)) }
    }

    /// A Linux network interface name: at most 15 bytes (IFNAMSIZ 16 with its NUL, linux/if.h),
    /// no '/', ':' or whitespace.
    static func isInterfaceName(_ text: String) -> Bool {
        isIdentifier(text, maxLength: 15) && !text.contains("+")
    }

    /// A host as SSH and libcurl take it: a DNS name or an IP address.
    static func isHost(_ text: String) -> Bool {
        IPAddress.parse(text) != nil || isDNSName(text)
    }

    /// A login name as useradd accepts it by default (shadow-utils NAME_REGEX: a letter or '_',
    /// then letters, digits, '_', '-', '.'; at most 32 characters).
    static func isUserName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.count <= 32 else { return false }
        let letter: (Unicode.Scalar) -> Bool = { $0.isASCII && $0.properties.isAlphabetic }
        guard letter(first) || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }
    }

    /// An absolute path on a remote host, built into commands: `/`-separated names of
    /// letters, digits, `.`, `_`, `-`, `+`, with no `..` component.
    static func isRemotePath(_ text: String) -> Bool {
        guard text.hasPrefix("/"), text.count <= 1024 else { return false }
        let components = text.split(separator: "/")
        return components.allSatisfy { $0 != ".." && isIdentifier(String($0), maxLength: 255) }
    }

    /// A local file path from the spec (key files, CA bundles, token files): anything the
    /// file system allows except control characters and a leading '-'.
    static func isLocalPath(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 4096 && !text.hasPrefix("-") && !InputSanitizer.hasUnsafeCharacters(text)
    }

    /// A branch name as `git check-ref-format --branch` accepts it (git-check-ref-format(1)):
    /// no component starting with '.' or ending in `.lock`, no `..`, `@{`, `//`, no control
    /// characters, space, `~ ^ : ? * [ \`, not ending in '/' or '.', not '@', not starting with '-'.
    static func isBranchName(_ text: String) -> Bool {
        guard !text.isEmpty, text.count <= 255, text != "@", !text.hasPrefix("-"), !text.hasPrefix("/"), !text.hasSuffix("/"), !text.hasSuffix(".") else { return false }
        if text.contains("..") || text.contains("@{") || text.contains("//") { return false }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || " ~^:?*[\\".unicodeScalars.contains($0) }) { return false }
        return text.split(separator: "/").allSatisfy { !$0.hasPrefix(".") && !$0.hasSuffix(".lock") }
    }

    // MARK: - Checks

    func validateValues() {
        for (index, provider) in draft.providers {
            let base = "providers[\(index)]"
            if !SpecValidator.isDNSLabel(provider.name) {
                walker.error(at: "\(base).name", "\"\(provider.name)\" cannot be a provider name",
                    hint: "use up to 63 lowercase letters, digits and '-' (it is written into machine labels and tags)")
            }
            switch provider.settings {
            case .hetzner(let hetzner):
                validateSecretFile(hetzner.token, at: "\(base).tokenFile")
                if let firewall = hetzner.firewall, !SpecValidator.isIdentifier(firewall, maxLength: 63) {
                    walker.error(at: "\(base).firewall", "\"\(firewall)\" cannot be a firewall name", hint: "use letters, digits, '.', '_' and '-', e.g. \(draft.name ?? "home")-nodes")
                }
                if let network = hetzner.network, !SpecValidator.isIdentifier(network.name, maxLength: 63) {
                    walker.error(at: "\(base).network.name", "\"\(network.name)\" cannot be a network name", hint: "use letters, digits, '.', '_' and '-'")
                }
            case .libvirt(let libvirt):
                validateSSH(libvirt.ssh, base: "\(base).ssh")
                validateLibvirtURI(libvirt.uri, at: "\(base).uri")
                if !SpecValidator.isIdentifier(libvirt.storagePool) {
                    walker.error(at: "\(base).storagePool", "\"\(libvirt.storagePool)\" cannot be a libvirt storage pool name", hint: "use letters, digits, '.', '_', '-' and '+', not starting with '-', e.g. default")
                }
                if let directory = libvirt.storageDir, directory.hasPrefix("/"), !SpecValidator.isRemotePath(directory) {
                    walker.error(at: "\(base).storageDir", "\"\(directory)\" cannot be used as a storage directory",
                        hint: "it is passed to commands on the host: use '/'-separated names of letters, digits, '.', '_', '-' and '+', without '..'")
                }
                if let bridge = libvirt.bridge, !SpecValidator.isInterfaceName(bridge) {
                    walker.error(at: "\(base).bridge", "\"\(bridge)\" cannot be a bridge name", hint: "Linux interface names are 1 to 15 letters, digits, '.', '_' or '-', e.g. br0")
                }
                if let network = libvirt.network, !SpecValidator.isIdentifier(network) {
                    walker.error(at: "\(base).network", "\"\(network)\" cannot be a libvirt network name", hint: "use letters, digits, '.', '_', '-' and '+', e.g. default")
                }
            case .proxmox(let proxmox):
                validateSecretFile(proxmox.token, at: "\(base).tokenFile")
                validateURL(proxmox.url, at: "\(base).url", schemes: ["https"], example: "https://pve.lan:8006")
                if !SpecValidator.isDNSLabel(proxmox.node) {
                    walker.error(at: "\(base).node", "\"\(proxmox.node)\" cannot be a Proxmox node name", hint: "Proxmox node names are host names: lowercase letters, digits and '-', e.g. pve")
                }
                // Proxmox storage ids: a letter, then letters, digits, '-', '_', '.' (pve-storage-id
                // in PVE::JSONSchema, ../shared/reference/proxmox).
                if proxmox.storage.range(of: "^[a-z][a-z0-9._-]*[a-z0-9]$", options: .regularExpression) == nil {
                    walker.error(at: "\(base).storage", "\"\(proxmox.storage)\" cannot be a Proxmox storage id", hint: "a lowercase letter, then letters, digits, '.', '_' or '-', e.g. local-lvm")
                }
                if !SpecValidator.isInterfaceName(proxmox.bridge) {
                    walker.error(at: "\(base).bridge", "\"\(proxmox.bridge)\" cannot be a bridge name", hint: "Linux interface names are 1 to 15 letters, digits, '.', '_' or '-', e.g. vmbr0")
                }
                if case .caFile(let file) = proxmox.tls, !SpecValidator.isLocalPath(file) {
                    walker.error(at: "\(base).tls.caFile", "\"\(file)\" cannot be a file path", hint: "give a path without control characters, not starting with '-'")
                }
            case .simulator(let simulator):
                if !SpecValidator.isDNSLabel(simulator.site) {
                    walker.error(at: "\(base).site", "\"\(simulator.site)\" cannot be a site name", hint: "use lowercase letters, digits and '-'")
                }
            }
        }
        for (index, pool) in draft.pools {
            guard let (_, provider) = draft.provider(named: pool.provider), case .simulator = provider.settings else { continue }
            for (offset, location) in pool.locations.enumerated() where !SpecValidator.isDNSLabel(location) {
                walker.error(at: "pools[\(index)].locations[\(offset)]", "\"\(location)\" cannot be a site name", hint: "use lowercase letters, digits and '-'")
            }
        }
        if let disk = draft.talos?.installDisk, disk.hasPrefix("/dev/"), !SpecValidator.isRemotePath(disk) {
            walker.error(at: "talos.installDisk", "\"\(disk)\" is not a device path", hint: "use a path under /dev such as /dev/sda, /dev/nvme0n1 or /dev/disk/by-id/...")
        }
        if let ingress = draft.failover?.ingressIP, !SpecValidator.isIdentifier(ingress.name, maxLength: 63) {
            walker.error(at: "failover.ingressIP.name", "\"\(ingress.name)\" cannot be a floating IP name", hint: "use letters, digits, '.', '_' and '-', e.g. ingress")
        }
        if let gitops = draft.gitops { validateGitOps(gitops) }
        if let reference = draft.drills?.heartbeatURL { validateSecretFile(reference, at: "drills.heartbeatURLFile") }
    }

    func validateSecretFile(_ reference: SecretReference, at path: String) {
        if case .file(let file) = reference, !SpecValidator.isLocalPath(file) {
            walker.error(at: path, "\"\(file)\" cannot be a file path", hint: "give a path without control characters, not starting with '-'")
        }
    }

    func validateSSH(_ ssh: SSHTarget, base: String) {
        if !SpecValidator.isHost(ssh.host) {
            walker.error(at: "\(base).host", "\"\(ssh.host)\" is not a host name or IP address", hint: "e.g. kvm.lan or 192.168.1.10")
        }
        if !SpecValidator.isUserName(ssh.user) {
            walker.error(at: "\(base).user", "\"\(ssh.user)\" is not a user name", hint: "a letter or '_', then letters, digits, '_', '-' or '.'; at most 32 characters")
        }
        for (key, value) in [("keyFile", ssh.keyFile), ("knownHostsFile", ssh.knownHostsFile)] where !SpecValidator.isLocalPath(value) {
            walker.error(at: "\(base).\(key)", "\"\(value)\" cannot be a file path", hint: "give a path without control characters, not starting with '-'")
        }
        if let passphrase = ssh.passphrase { validateSecretFile(passphrase, at: "\(base).passphraseFile") }
    }

    /// libvirt connection URIs (libvirt docs, "Connection URIs"): `driver[+transport]://[host]/path[?params]`;
    /// clusterctl runs virsh on the host itself, so only the local `qemu` driver makes sense.
    func validateLibvirtURI(_ uri: String, at path: String) {
        guard uri.hasPrefix("qemu:///") || uri.hasPrefix("qemu+") else { return }  // reported by the decoder
        let safe = uri.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+:/._-=&?%@".unicodeScalars.contains($0)) }
        if !safe || uri.count > 256 {
            walker.error(at: path, "\"\(uri)\" is not a libvirt URI", hint: "use qemu:///system or qemu:///session")
        }
    }

    /// A URL with one of `schemes`, a host, no credentials, nothing a command line would misread.
    /// Credentials are never echoed: the URL is shown with them masked.
    @discardableResult
    func validateURL(_ url: String, at path: String, schemes: [String], example: String) -> Bool {
        let shown = InputSanitizer.maskingCredentials(url)
        if let info = InputSanitizer.userInfo(ofURL: url), info.contains(":") || !url.hasPrefix("ssh://") {
            walker.error(at: path, "\"\(shown)\" has credentials in it; they would be stored and shown wherever the URL is",
                hint: "remove them from the URL and give them as a reference (e.g. credentialsEnv: VARIABLE or credentialsFile: path)")
            return false
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme, schemes.contains(scheme.lowercased()),
            let host = components.host, !host.isEmpty, !url.unicodeScalars.contains(where: { InputSanitizer.isUnsafe($0) || $0 == " " })
        else {
            walker.error(at: path, "\"\(shown)\" is not a valid \(schemes.joined(separator: " or ")) URL", hint: "e.g. \(example)")
            return false
        }
        if components.query != nil || components.fragment != nil {
            walker.error(at: path, "\"\(shown)\" has a query or fragment; a repository or API URL needs neither, and a query can carry a token",
                hint: "e.g. \(example)")
            return false
        }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if !SpecValidator.isHost(bareHost) {
            walker.error(at: path, "\"\(shown)\" has no valid host name", hint: "e.g. \(example)")
            return false
        }
        return true
    }

    func validateGitOps(_ gitops: GitOpsSpec) {
        if gitops.url.hasPrefix("https://") || gitops.url.hasPrefix("http://") || gitops.url.hasPrefix("ssh://") {
            validateURL(gitops.url, at: "gitops.url", schemes: ["https", "http", "ssh"], example: "ssh://git@github.com/me/fleet.git")
        }
        if !SpecValidator.isBranchName(gitops.branch) {
            walker.error(at: "gitops.branch", "\"\(gitops.branch)\" is not a valid branch name",
                hint: "git branch names have no spaces, '..', '~', '^', ':', '?', '*', '[' or '\\\\', and do not start with '-' (git check-ref-format)")
        }
        let components = gitops.path.split(separator: "/")
        if !gitops.path.hasPrefix("/"), !components.contains(".."),
            !components.allSatisfy({ SpecValidator.isIdentifier(String($0), maxLength: 255) })
        {
            walker.error(at: "gitops.path", "\"\(gitops.path)\" cannot be a repository path", hint: "use '/'-separated names of letters, digits, '.', '_', '-' and '+', e.g. clusters/home")
        }
        if let credentials = gitops.credentials { validateSecretFile(credentials, at: "gitops.credentialsFile") }
    }
}
