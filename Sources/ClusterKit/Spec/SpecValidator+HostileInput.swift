extension SpecValidator {
    /// The checks against hostile or impossible input (issue 16): what patches touch, names and
    /// values that reach configs and remote commands, networks that cannot work.
    func validateHostileInput() {
        validatePatchContents()
        validateValues()
        validateNetworkRanges()
    }
}
