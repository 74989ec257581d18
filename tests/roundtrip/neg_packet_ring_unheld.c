/* A packet socket's RX ring mapped by the program, the socket's fd closed:
 * only the mapping keeps the socket, which no fd of the dump can name, so
 * a dump must refuse it. On SIGTERM the program checks that its ring is
 * still mapped and reads as the kernel left it (every frame its own). */
#include <linux/if_packet.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 1,
				   .tp_frame_size = 2048, .tp_frame_nr = 2 };
	int version = TPACKET_V2, fd;
	volatile struct tpacket2_hdr *h;
	uint8_t *mem;

	prog_init(argc, argv);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return 1;
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return 1;
	close(fd);
	prog_ready();
	prog_wait_sigterm();
	for (int i = 0; i < 2; i++) {
		h = (volatile struct tpacket2_hdr *)(mem + i * 2048);
		PROG_CHECK(h->tp_status == TP_STATUS_KERNEL && !h->tp_len,
			   "frame %d: status %#x, length %u", i, h->tp_status, h->tp_len);
	}
	prog_finish();
}
