import Yams

extension TalosPeerCertificates {
    /// The extra names a machine config asks for in the node's apid certificate: `machine.certSANs`
    /// of its v1alpha1 document, "extra certificate subject alternative names for the machine's
    /// certificate", on top of "all non-loopback interface IPs", which include a floating IP
    /// configured on the link (../shared/reference/talos/config.v1.13.schema.json,
    /// `v1alpha1.MachineConfig.certSANs`). Empty when the config has none or is not YAML.
    static func configuredSANs(_ configText: String) -> [String] {
        let documents = (try? Array(Yams.load_all(yaml: configText))) ?? []
        for case let tree as [String: Any] in documents where tree["version"] as? String == "v1alpha1" {
            return ((tree["machine"] as? [String: Any])?["certSANs"] as? [Any] ?? []).compactMap { $0 as? String }
        }
        return []
    }
}
