/// The scanner's version, printed by `scan --version` and recorded in every report.
public let scannerVersion = "0.1.0"
