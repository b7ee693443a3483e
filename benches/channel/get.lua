-- wrk script: GET the path given on the command line with the bench's token (TOKEN).
dofile("benches/channel/common.lua")
request = function()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end
