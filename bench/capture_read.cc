// Reads every frame of a capture and reports frames, bytes and time, in one of two ways:
//   warden FILE   Capture::open (mmap + index) and decode every frame (Ethernet..TCP/UDP/app)
//   libpcap FILE  a pcap_next_ex loop that only counts bytes (the floor libpcap offers)
// bench/capture_bench.sh runs both and tshark on the same file and prints ratios.
#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "capture/capture.h"
#include "decode/decoder.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: capture_read warden|libpcap FILE\n");
    return 2;
  }
  std::string mode = argv[1];
  auto start = std::chrono::steady_clock::now();
  std::uint64_t frames = 0, bytes = 0, payload = 0;
  if (mode == "warden") {
    auto capture = warden::capture::Capture::open(argv[2]);
    if (!capture.ok()) {
      std::fprintf(stderr, "%s\n", capture.status().toString().c_str());
      return 1;
    }
    warden::decode::DecodedFrame d;
    for (std::size_t i = 0; i < capture->frameCount(); ++i) {
      capture->prefetch(i + 4);
      warden::capture::Frame f = capture->frame(i);
      warden::decode::decodeFrame(f.bytes, f.linkType, f.wireLength, d);
      ++frames;
      bytes += f.capturedLength;
      payload += d.tcp.len;
    }
  } else if (mode == "libpcap") {
    char error[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(argv[2], error);
    if (p == nullptr) {
      std::fprintf(stderr, "%s\n", error);
      return 1;
    }
    pcap_pkthdr* header;
    const u_char* data;
    while (pcap_next_ex(p, &header, &data) == 1) {
      ++frames;
      bytes += header->caplen;
    }
    pcap_close(p);
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s frames=%llu bytes=%llu tcp_payload=%llu seconds=%.4f\n", mode.c_str(),
              static_cast<unsigned long long>(frames), static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(payload), seconds);
  return 0;
}
