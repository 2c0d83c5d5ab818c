user "alice" {
  display_name = null # ERROR: Missing value
}
