user "alice" {
  display_name = "Alÿice" # ERROR: Not a UTF-8 text file
}
