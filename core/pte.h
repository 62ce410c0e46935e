/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Descriptor bits, levels and sizes of the arm64 4K-granule, 48-bit-VA
 * translation regime, as the model uses them (DOMAIN.md section 2).
 */
#ifndef BBM_PTE_H
#define BBM_PTE_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t bbm_desc_t;

/* Levels: 0 = PGD, 1 = PUD, 2 = PMD, 3 = PTE. */
enum bbm_level {
	BBM_PGD = 0,
	BBM_PUD = 1,
	BBM_PMD = 2,
	BBM_PTE = 3,
	BBM_LEVELS = 4,
};

#define BBM_PAGE_SHIFT 12
#define BBM_PAGE_SIZE (1ull << BBM_PAGE_SHIFT)
#define BBM_PTRS_PER_TABLE 512
#define BBM_CONT_ENTRIES 16

#define BBM_PTE_SIZE BBM_PAGE_SIZE
#define BBM_CONT_PTE_SIZE (BBM_CONT_ENTRIES * BBM_PTE_SIZE)	/* 64 KiB */
#define BBM_PMD_SIZE (1ull << 21)				/* 2 MiB */
#define BBM_CONT_PMD_SIZE (BBM_CONT_ENTRIES * BBM_PMD_SIZE)	/* 32 MiB */
#define BBM_PUD_SIZE (1ull << 30)				/* 1 GiB */
#define BBM_PGD_SIZE (1ull << 39)				/* 512 GiB */

/* The linear map: VA = PAGE_OFFSET + PA; its region ends at bit 47. */
#define BBM_PAGE_OFFSET 0xffff000000000000ull
#define BBM_LINEAR_END 0xffff800000000000ull

/* Descriptor fields, at arm64's positions. */
#define BBM_VALID (1ull << 0)
#define BBM_TYPE_MASK 3ull
#define BBM_TYPE_TABLE 3ull	/* levels 0-2; at level 3 the same bits = page */
#define BBM_TYPE_PAGE 3ull
#define BBM_TYPE_BLOCK 1ull
#define BBM_ATTRINDX_SHIFT 2
#define BBM_ATTRINDX_MASK (7ull << BBM_ATTRINDX_SHIFT)
#define BBM_ATTRINDX(mt) ((uint64_t)(mt) << BBM_ATTRINDX_SHIFT)
#define BBM_USER (1ull << 6)
#define BBM_RDONLY (1ull << 7)
#define BBM_SH_MASK (3ull << 8)
#define BBM_SH_INNER (3ull << 8)
#define BBM_AF (1ull << 10)
#define BBM_NG (1ull << 11)
#define BBM_PRESENT_INVALID BBM_NG	/* with VALID clear (15bfba1ad77f) */
#define BBM_OA_MASK 0x0000fffffffff000ull	/* output address [47:12] */
#define BBM_GP (1ull << 50)
#define BBM_CONT (1ull << 52)
#define BBM_PXN (1ull << 53)
#define BBM_UXN (1ull << 54)
/* Realm "shared" (decrypted): the model's stand-in for PROT_NS_SHARED. */
#define BBM_NS_SHARED (1ull << 55)

/* Table descriptor hints; a split copies the block's PXN to PXNTable. */
#define BBM_TABLE_AF (1ull << 10)
#define BBM_TABLE_PXN (1ull << 59)
#define BBM_TABLE_UXN (1ull << 60)
/* What the kernel's tables carry: UXNTable, AF, and PXNTable for no-exec. */
#define BBM_TABLE_HINTS(leaf_attrs)                                      \
	(BBM_TABLE_UXN | BBM_TABLE_AF |                                  \
	 (((leaf_attrs) & BBM_PXN) ? BBM_TABLE_PXN : 0))

/* AttrIndx values, as arm64's MT_* indexes. */
enum bbm_memtype {
	BBM_MT_NORMAL = 0,
	BBM_MT_NORMAL_TAGGED = 1,
	BBM_MT_NORMAL_NC = 2,
	BBM_MT_DEVICE_nGnRnE = 3,
	BBM_MT_DEVICE_nGnRE = 4,
};

/* PAGE_KERNEL: RW NX SHD AF UXN MEM/NORMAL-TAGGED, without type bits. */
#define BBM_PROT_KERNEL                                                  \
	(BBM_VALID | BBM_AF | BBM_SH_INNER | BBM_PXN | BBM_UXN |         \
	 BBM_ATTRINDX(BBM_MT_NORMAL_TAGGED))

/* Bits that make up a leaf's attributes: all but type, OA and CONT. */
#define BBM_ATTR_MASK                                                    \
	(BBM_VALID | BBM_ATTRINDX_MASK | BBM_USER | BBM_RDONLY |         \
	 BBM_SH_MASK | BBM_AF | BBM_NG | BBM_GP | BBM_PXN | BBM_UXN |    \
	 BBM_NS_SHARED)

/* What freed table pages are filled with: invalid, not present-invalid. */
#define BBM_POISON 0xdead0000dead0000ull

/* Size of the region one entry maps at each level. */
static inline uint64_t bbm_level_size(int level)
{
	return 1ull << (39 - 9 * level);
}

/* Size of a CONT group at a level that has one (PMD, PTE), else 0. */
static inline uint64_t bbm_cont_size(int level)
{
	return level >= BBM_PMD ? BBM_CONT_ENTRIES * bbm_level_size(level) : 0;
}

static inline unsigned int bbm_index(uint64_t va, int level)
{
	return (va >> (39 - 9 * level)) & (BBM_PTRS_PER_TABLE - 1);
}

/* The end of the entry at @level containing @addr, clamped to @end. */
static inline uint64_t bbm_addr_end(uint64_t addr, uint64_t end, int level)
{
	uint64_t size = bbm_level_size(level);
	uint64_t boundary = (addr + size) & ~(size - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

static inline uint64_t bbm_desc_oa(bbm_desc_t d)
{
	return d & BBM_OA_MASK;
}

static inline bool bbm_desc_valid(bbm_desc_t d)
{
	return d & BBM_VALID;
}

/* pXd_present: valid, or present-invalid (nG set with VALID clear). */
static inline bool bbm_desc_present(bbm_desc_t d)
{
	return (d & BBM_VALID) || (d & BBM_PRESENT_INVALID);
}

/* pXd_table: type bits 0b11 at levels 0-2. */
static inline bool bbm_desc_table(bbm_desc_t d, int level)
{
	return level < BBM_PTE && (d & BBM_TYPE_MASK) == BBM_TYPE_TABLE;
}

/* pXd_leaf: present and not a table (a block, a page, or present-invalid). */
static inline bool bbm_desc_leaf(bbm_desc_t d, int level)
{
	return bbm_desc_present(d) && !bbm_desc_table(d, level);
}

static inline bool bbm_desc_cont(bbm_desc_t d)
{
	return d & BBM_CONT;
}

/* A leaf's attributes, comparable across levels. */
static inline uint64_t bbm_desc_attrs(bbm_desc_t d)
{
	return d & BBM_ATTR_MASK;
}

/* A leaf at @level mapping @oa with @attrs; type bits as a live leaf has. */
static inline bbm_desc_t bbm_mk_leaf(int level, uint64_t oa, uint64_t attrs)
{
	bbm_desc_t type = level == BBM_PTE ? BBM_TYPE_PAGE : BBM_TYPE_BLOCK;

	/* Bit 0 of the type is VALID itself: keep it only if @attrs has it. */
	return (oa & BBM_OA_MASK) | (attrs & BBM_ATTR_MASK) |
	       (type & ~BBM_VALID);
}

static inline bbm_desc_t bbm_mk_table(uint64_t table_pa, uint64_t hints)
{
	return (table_pa & BBM_OA_MASK) | hints | BBM_TYPE_TABLE;
}

#endif /* BBM_PTE_H */
