extension SecretsBundle {
    /// Stand-in secrets for rendering configs only to see whether they render (`validate`): the
    /// renderer copies these strings into documents without parsing them, so no keys are made and
    /// nothing is written. Never used for a config that leaves the process.
    static let placeholder: SecretsBundle = {
        let pair = PEMCertificateAndKey(
            certificatePEM: "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n",
            keyPEM: "-----BEGIN EC PRIVATE KEY-----\nplaceholder\n-----END EC PRIVATE KEY-----\n")
        return SecretsBundle(
            clusterID: "placeholder", clusterSecret: "placeholder", bootstrapToken: "aaaaaa.aaaaaaaaaaaaaaaa",
            secretboxEncryptionSecret: "placeholder", trustdToken: "aaaaaa.aaaaaaaaaaaaaaaa", etcdCA: pair, kubernetesCA: pair,
            aggregatorCA: pair, osCA: pair, serviceAccountKeyPEM: pair.keyPEM)
    }()
}
