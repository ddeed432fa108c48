extension Duration {
    /// The duration as fractional seconds, for arithmetic and display.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
