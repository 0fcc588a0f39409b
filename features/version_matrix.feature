@acceptance @matrix
Feature: What each site version can do for internet task sequences
  The capability matrix (cmg-harness matrix, B-01, B-02, B-04 to B-08, B-18, B-19), cell by cell: a content-enabled
  CMG from 1806, on-demand download by the engine from 1910, site-issued tokens from 2002, boot
  image task sequences from Software Center from 2006, and boot media over the CMG from 2010.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100120 references these packages:
      | package  | name                     | type               | size   |
      | PS100121 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100121 | 40 minutes |
    And the packages are distributed to the CMG

  @matrix:content_enabled_cmg
  @behaviour:B-02 @behaviour:B-25
  Scenario Outline: A content-enabled CMG serves content from version 1806 (<version>)
    Given an internet client CLIENT17
    And the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>

    Examples:
      | version | outcome                                  |
      | 1802    | does not start and fails with 0x87D00607 |
      | 1806    | succeeds                                 |
      | 1810    | succeeds                                 |
      | 1902    | succeeds                                 |
      | 1906    | succeeds                                 |
      | 1910    | succeeds                                 |
      | 2002    | succeeds                                 |
      | 2006    | succeeds                                 |
      | 2010    | succeeds                                 |
      | 2107    | succeeds                                 |

  @matrix:on_demand_from_cloud
  @behaviour:B-04
  Scenario Outline: The task sequence engine downloads on demand from the CMG from version 1910 (<version>)
    Given an internet client CLIENT17
    And the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>

    Examples:
      | version | outcome                                                  |
      | 1802    | fails at step "Upgrade Operating System" with 0x80040102 |
      | 1806    | fails at step "Upgrade Operating System" with 0x80040102 |
      | 1810    | fails at step "Upgrade Operating System" with 0x80040102 |
      | 1902    | fails at step "Upgrade Operating System" with 0x80040102 |
      | 1906    | fails at step "Upgrade Operating System" with 0x80040102 |
      | 1910    | succeeds                                                 |
      | 2002    | succeeds                                                 |
      | 2006    | succeeds                                                 |
      | 2010    | succeeds                                                 |
      | 2107    | succeeds                                                 |

  @matrix:boot_media_via_cmg
  @behaviour:B-08 @behaviour:B-51
  Scenario Outline: Task sequence media over the CMG from version 2010 (<version>)
    Given an internet client CLIENT17
    And the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the task sequence is started from task sequence media
    Then <outcome>

    Examples:
      | version | outcome                                                                                            |
      | 1802    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 1806    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 1810    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 1902    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 1906    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 1910    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 2002    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 2006    | the client refuses to start the task sequence because "not supported over a cloud management gateway" |
      | 2010    | the task sequence succeeds                                                                         |
      | 2107    | the task sequence succeeds                                                                         |

  @matrix:boot_image_ts_from_software_center
  @behaviour:B-07
  Scenario Outline: A task sequence with a boot image started from Software Center over the CMG from version 2006 (<version>)
    Given an internet client CLIENT17
    And the task sequence uses boot image PS100005
    And the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then <outcome>

    Examples:
      | version | outcome                                                                            |
      | 1802    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 1806    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 1810    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 1902    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 1906    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 1910    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 2002    | the client refuses to start the task sequence because "with a boot image is not supported" |
      | 2006    | the task sequence succeeds                                                         |
      | 2010    | the task sequence succeeds                                                         |
      | 2107    | the task sequence succeeds                                                         |

  @matrix:site_issued_tokens
  @behaviour:B-06
  Scenario Outline: A client with a site-issued token reaches its site through the CMG from version 2002 (<version>)
    Given an internet client CLIENT17 with a site-issued token
    And the site runs Configuration Manager version <version>
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>

    Examples:
      | version | outcome                                  |
      | 1802    | does not start and fails with 0x80190191 |
      | 1806    | does not start and fails with 0x80190191 |
      | 1810    | does not start and fails with 0x80190191 |
      | 1902    | does not start and fails with 0x80190191 |
      | 1906    | does not start and fails with 0x80190191 |
      | 1910    | does not start and fails with 0x80190191 |
      | 2002    | succeeds                                 |
      | 2006    | succeeds                                 |
      | 2010    | succeeds                                 |
      | 2107    | succeeds                                 |
