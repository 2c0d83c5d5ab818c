# Flow tests for the executive line: every path through flows/executive.hcl.

test "executive: grace answers" {
  flow         = flow.executive
  path         = [transfer_user.grace]
  ending       = "connected"
  connected_to = user.grace
}

test "executive: grace rings out takes a message" {
  flow   = flow.executive
  agents = { grace = "no-answer" }
  path   = [transfer_user.grace, voicemail.grace]
  ending = "message"
}

test "executive: grace busy, silent caller" {
  flow      = flow.executive
  agents    = { grace = "busy" }
  voicemail = "silent"
  path      = [transfer_user.grace, voicemail.grace]
  ending    = "no-message"
}

test "executive: grace unavailable, storage full" {
  flow      = flow.executive
  agents    = { grace = "unavailable" }
  voicemail = "storage-full"
  path      = [transfer_user.grace, voicemail.grace]
  ending    = "no-message"
}
