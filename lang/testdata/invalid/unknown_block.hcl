flw "support" { # ERROR: Unsupported block type
}
