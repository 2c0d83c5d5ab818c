flow "support" {
  description = "Main line" "again" # ERROR: Missing newline after argument
}
